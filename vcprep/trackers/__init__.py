"""Trackers: `update(detections, frame) -> Detections with tracker_id`, plus `reset()`.

The Roboflow `trackers` package provides ByteTrack, BoT-SORT, OC-SORT and SORT; their
constructor parameters are passed through from config unchanged. `sam2` (SAM2 video
propagation, STVG-R1's rules) is a video tracker: it owns the loop via `track_frames`.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from vcprep.registry import Registry


class Tracker(Protocol):
    def update(self, detections: Any, frame: np.ndarray | None = None) -> Any:
        """supervision.Detections of one frame -> the same with `tracker_id` set."""
        ...

    def reset(self) -> None: ...


TRACKERS: Registry[Tracker] = Registry("tracker")


class RoboflowTracker:
    """Adapter over a `trackers` class: passes the frame only to trackers that use it
    (BoT-SORT's camera-motion compensation), so the others do not warn on every frame."""

    def __init__(self, inner: Any, uses_frame: bool) -> None:
        self.inner = inner
        self.uses_frame = uses_frame

    def update(self, detections: Any, frame: np.ndarray | None = None) -> Any:
        return self.inner.update(detections, frame) if self.uses_frame else self.inner.update(detections)

    def reset(self) -> None:
        self.inner.reset()


def _roboflow(class_name: str):
    def factory(**params: Any) -> Tracker:
        import trackers

        return RoboflowTracker(getattr(trackers, class_name)(**params), uses_frame=class_name == "BoTSORTTracker")

    return factory


for _name, _cls in {
    "bytetrack": "ByteTrackTracker",
    "botsort": "BoTSORTTracker",
    "ocsort": "OCSORTTracker",
    "sort": "SORTTracker",
}.items():
    TRACKERS.register(_name)(_roboflow(_cls))


@TRACKERS.register("sam2")
def _sam2(**params: Any) -> Tracker:
    from vcprep.trackers.sam2 import SAM2Tracker

    return SAM2Tracker(**params)


def build_tracker(name: str, params: dict[str, Any] | None = None) -> Tracker:
    return TRACKERS.build(name, **(params or {}))
