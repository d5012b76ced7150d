"""The two detector interfaces, declared (no duck typing by `getattr`).

Most detectors see pixels only (`Detector.detect`); a detector that reads annotations needs
to know *which* frame it is looking at, so it implements the second interface,
`FrameIndexedDetector.detect_at`, in the way roboflow/trackers names a second base class for
trackers that need the frame. `detect_frame` is the one place that tells them apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import supervision as sv

from vcprep.core.types import Frame


class Detector(ABC):
    """Detects objects in an image: RGB uint8 [H, W, 3] -> `sv.Detections` (xyxy, confidence, class_id)."""

    batch_size: int = 1
    """Frames the tracking loop hands to `detect_batch` at once; models that batch on the GPU raise it."""
    class_names: tuple[str, ...] | None = None
    """The classes this detector can output (COCO names, `vcprep.core.classes`), after any `classes`
    restriction; None: not a fixed vocabulary (text-prompted or annotation-backed detectors)."""

    @abstractmethod
    def detect(self, image: np.ndarray) -> sv.Detections: ...

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        """Several images at once; models that batch on the GPU override this."""
        return [self.detect(image) for image in images]


class FrameIndexedDetector(ABC):
    """Detections looked up by the frame's position in the source video (e.g. annotated boxes)."""

    @abstractmethod
    def detect_at(self, image: np.ndarray, frame_index: int) -> sv.Detections: ...


AnyDetector = Detector | FrameIndexedDetector


def detector_class_names(detector: AnyDetector) -> tuple[str, ...] | None:
    """The classes a detector can output; None when any target can be found (boxes read from the
    annotations, or an open vocabulary)."""
    return detector.class_names if isinstance(detector, Detector) else None


def detect_frame(detector: AnyDetector, frame: Frame) -> sv.Detections:
    """Detections of one decoded frame, whichever interface the detector declares."""
    if isinstance(detector, FrameIndexedDetector):
        return detector.detect_at(frame.image, frame.frame_index)
    return detector.detect(frame.image)
