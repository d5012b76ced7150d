"""Detectors: `detect(image) -> supervision.Detections`, chosen by name from config.

Each factory imports its heavy library only when built, so `hog` works without torch and
`yolo` (AGPL ultralytics) is only imported by users who ask for it.
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


def build_detector(name: str, params: dict[str, Any] | None = None) -> Detector:
    return DETECTORS.build(name, **(params or {}))
