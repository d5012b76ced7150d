"""Detectors: `detect(image) -> supervision.Detections`, chosen by name from config.

Each factory imports its heavy library only when built, so `hog` works without torch and
`yolo` (AGPL ultralytics) is only imported by users who ask for it. `gt` reads boxes from the
annotations and implements `detect_at(image, frame_index)` instead (see `detect_frame`).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from vcprep.registry import Registry


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> Any:
        """RGB uint8 [H, W, 3] -> supervision.Detections (xyxy, confidence, class_id)."""
        ...


DETECTORS: Registry[Detector] = Registry("detector")


@DETECTORS.register("hog")
def _hog(**params: Any) -> Detector:
    from vcprep.detectors.hog import HOGPersonDetector

    return HOGPersonDetector(**params)


@DETECTORS.register("yolo")
def _yolo(**params: Any) -> Detector:
    from vcprep.detectors.yolo import YOLODetector

    return YOLODetector(**params)


@DETECTORS.register("gt")
def _gt(**params: Any) -> Detector:
    from vcprep.detectors.gt import GroundTruthDetector

    return GroundTruthDetector(**params)


def detect_frame(detector: Detector, image: np.ndarray, frame_index: int) -> Any:
    """Detections of one frame; detectors that need the frame's position (`gt`) get it."""
    detect_at = getattr(detector, "detect_at", None)
    return detect_at(image, frame_index) if detect_at is not None else detector.detect(image)


def build_detector(name: str, params: dict[str, Any] | None = None) -> Detector:
    return DETECTORS.build(name, **(params or {}))
