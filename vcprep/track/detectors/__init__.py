"""Detectors, chosen by name: `ssdlite` (a pretrained person SSD run by OpenCV), `nanodet` (80 COCO
classes, npm-packaged weights run by OpenCV), `ssdlite_nanodet` (people from the first, other classes
from the second), `hog` (OpenCV's own people detector), `yolo`, `gt`.

Each implements one declared interface from `base.py` (`Detector.detect(image)`, or
`FrameIndexedDetector.detect_at(image, frame_index)` for annotation-backed boxes). Each factory
imports its heavy library only when built, so `ssdlite` and `hog` work without torch and `yolo` (AGPL
ultralytics) is only imported by users who ask for it.
"""

from __future__ import annotations

from typing import Any

from vcprep.core.registry import Registry
from vcprep.track.detectors.base import AnyDetector, Detector, FrameIndexedDetector, detect_frame, detector_class_names

__all__ = ["DETECTORS", "AnyDetector", "Detector", "FrameIndexedDetector", "build_detector", "detect_frame",
           "detector_class_names"]

DETECTORS: Registry[AnyDetector] = Registry("detector")


@DETECTORS.register("hog", implementation="vcprep.track.detectors.hog:HOGPersonDetector")
def _hog(**params: Any) -> AnyDetector:
    from vcprep.track.detectors.hog import HOGPersonDetector

    return HOGPersonDetector(**params)


@DETECTORS.register("ssdlite", implementation="vcprep.track.detectors.ssdlite:SSDLitePersonDetector")
def _ssdlite(**params: Any) -> AnyDetector:
    from vcprep.track.detectors.ssdlite import SSDLitePersonDetector

    return SSDLitePersonDetector(**params)


@DETECTORS.register("nanodet", implementation="vcprep.track.detectors.nanodet:NanoDetDetector")
def _nanodet(**params: Any) -> AnyDetector:
    from vcprep.track.detectors.nanodet import NanoDetDetector

    return NanoDetDetector(**params)


@DETECTORS.register("ssdlite_nanodet", implementation="vcprep.track.detectors.combined:PeopleAndObjectsDetector")
def _ssdlite_nanodet(**params: Any) -> AnyDetector:
    from vcprep.track.detectors.combined import PeopleAndObjectsDetector

    return PeopleAndObjectsDetector(**params)


@DETECTORS.register("yolo", implementation="vcprep.track.detectors.yolo:YOLODetector")
def _yolo(**params: Any) -> AnyDetector:
    from vcprep.track.detectors.yolo import YOLODetector

    return YOLODetector(**params)


@DETECTORS.register("gt", implementation="vcprep.track.detectors.gt:GroundTruthDetector")
def _gt(**params: Any) -> AnyDetector:
    from vcprep.track.detectors.gt import GroundTruthDetector

    return GroundTruthDetector(**params)


def build_detector(name: str, params: dict[str, Any] | None = None) -> AnyDetector:
    return DETECTORS.build(name, **(params or {}))
