"""`ssdlite_nanodet`: people from `ssdlite`, every other class from `nanodet`, as one detector.

Why: on the hand-checked ground truths `ssdlite` finds people better than NanoDet (small people on its
tiles especially), while only NanoDet sees the other COCO classes; this plug-in keeps each where it
measured best (BENCHMARKS.md, "Multi-class detection"). Both run on every frame, so it costs the sum of
the two; person boxes from NanoDet are dropped, not merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import supervision as sv

from vcprep.core.classes import COCO_80
from vcprep.track.detectors.base import Detector
from vcprep.track.detectors.nanodet import NanoDetDetector, with_class_names
from vcprep.track.detectors.ssdlite import SSDLitePersonDetector
from vcprep.track.detectors.yolo import resolve_classes

PERSON = "person"


class PeopleAndObjectsDetector(Detector):
    batch_size = SSDLitePersonDetector.batch_size

    def __init__(self, *, classes: str | list[str | int] = "all", ssdlite: dict[str, Any] | None = None,
                 nanodet: dict[str, Any] | None = None) -> None:
        """
        Args:
            classes: `all`, `person`, `non-person`, or a list of COCO class names or ids to keep.
            ssdlite: parameters of the person detector (`ssdlite`'s own; its `classes` is person).
            nanodet: parameters of the other classes' detector (`nanodet`'s own, less `classes`).
        """
        ids = resolve_classes(dict(enumerate(COCO_80)), classes)
        wanted = sorted(set(range(len(COCO_80)) if ids is None else ids))
        others = [COCO_80[i] for i in wanted if COCO_80[i] != PERSON]
        self.people = SSDLitePersonDetector(**(ssdlite or {})) if COCO_80.index(PERSON) in wanted else None
        self.objects = NanoDetDetector(**{**(nanodet or {}), "classes": others}) if others else None
        self.class_names = tuple(COCO_80[i] for i in wanted)  # what it can output

    def detect(self, image: np.ndarray) -> sv.Detections:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        """ssdlite batches its tiles across frames; NanoDet runs frame by frame."""
        people = self.people.detect_batch(images) if self.people is not None else [None] * len(images)
        objects = self.objects.detect_batch(images) if self.objects is not None else [None] * len(images)
        return [self._merge([p for p in pair if p is not None]) for pair in zip(people, objects)]

    @staticmethod
    def _merge(parts: list[sv.Detections]) -> sv.Detections:
        found = [p for p in parts if len(p)]
        if not found:
            return with_class_names(sv.Detections.empty(), COCO_80)
        merged = sv.Detections(xyxy=np.concatenate([p.xyxy for p in found]).astype(np.float32),
                               confidence=np.concatenate([np.asarray(p.confidence) for p in found]),
                               class_id=np.concatenate([np.asarray(p.class_id) for p in found]).astype(int))
        return with_class_names(merged, COCO_80)
