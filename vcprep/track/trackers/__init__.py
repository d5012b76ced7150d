"""Trackers, chosen by name, each implementing one interface of `base.py`.

Frame trackers (`FrameTracker.update`): the Roboflow `trackers` package's ByteTrack, BoT-SORT,
OC-SORT and SORT, their constructor parameters passed through from config unchanged. Video
trackers (`VideoTracker.track`): `sam2` (SAM2 video propagation, STVG-R1's rules).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import supervision as sv

from vcprep.core.registry import Registry
from vcprep.track.trackers.base import AnyTracker, FrameTracker, VideoTracker

__all__ = ["TRACKERS", "AnyTracker", "FrameTracker", "RoboflowTracker", "VideoTracker", "build_tracker"]

TRACKERS: Registry[AnyTracker] = Registry("tracker")


class RoboflowTracker(FrameTracker):
    """Adapter over a `trackers` class: passes the frame only to trackers that use it
    (BoT-SORT's camera-motion compensation), so the others do not warn on every frame."""

    def __init__(self, inner: Any, uses_frame: bool) -> None:
        self.inner = inner
        self.uses_frame = uses_frame

    def update(self, detections: sv.Detections, frame: np.ndarray | None = None) -> sv.Detections:
        return self.inner.update(detections, frame) if self.uses_frame else self.inner.update(detections)

    def reset(self) -> None:
        self.inner.reset()


# Each factory imports `trackers` only when built; BoT-SORT alone is given the frame.
@TRACKERS.register("bytetrack", implementation="trackers:ByteTrackTracker")
def _bytetrack(**params: Any) -> AnyTracker:
    from trackers import ByteTrackTracker

    return RoboflowTracker(ByteTrackTracker(**params), uses_frame=False)


@TRACKERS.register("botsort", implementation="trackers:BoTSORTTracker")
def _botsort(**params: Any) -> AnyTracker:
    from trackers import BoTSORTTracker

    return RoboflowTracker(BoTSORTTracker(**params), uses_frame=True)


@TRACKERS.register("ocsort", implementation="trackers:OCSORTTracker")
def _ocsort(**params: Any) -> AnyTracker:
    from trackers import OCSORTTracker

    return RoboflowTracker(OCSORTTracker(**params), uses_frame=False)


@TRACKERS.register("sort", implementation="trackers:SORTTracker")
def _sort(**params: Any) -> AnyTracker:
    from trackers import SORTTracker

    return RoboflowTracker(SORTTracker(**params), uses_frame=False)


@TRACKERS.register("sam2", implementation="vcprep.track.trackers.sam2:SAM2Tracker")
def _sam2(**params: Any) -> AnyTracker:
    from vcprep.track.trackers.sam2 import SAM2Tracker

    return SAM2Tracker(**params)


def build_tracker(name: str, params: dict[str, Any] | None = None) -> AnyTracker:
    return TRACKERS.build(name, **(params or {}))
