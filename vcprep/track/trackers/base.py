"""The two tracker interfaces, declared (no duck typing by `getattr`).

- `FrameTracker`: fed one frame's detections at a time (ByteTrack, BoT-SORT, OC-SORT, SORT);
  the tracking loop owns the frames.
- `VideoTracker`: owns the loop over the frames and asks for detections only where it needs
  them (SAM2 propagates masks and re-detects every N frames).
- `PhraseTracker`: a `VideoTracker` prompted by text (SAM 3); the pipeline binds it to the object
  phrases of one video's samples before tracking that video.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import supervision as sv

from vcprep.core.types import Frame, Tracks


class FrameTracker(ABC):
    @abstractmethod
    def update(self, detections: sv.Detections, frame: np.ndarray | None = None) -> sv.Detections:
        """Detections of one frame -> the same with `tracker_id` set (-1: not confirmed yet)."""

    @abstractmethod
    def reset(self) -> None:
        """Forget every track: the next `update` starts a new video."""


class VideoTracker(ABC):
    @abstractmethod
    def track(self, frames: Iterable[Frame], detect: Callable[[Frame], sv.Detections]) -> Tracks:
        """Tracks over the frames (raw IDs); `detect(frame)` is called only on the frames it needs."""


class PhraseTracker(VideoTracker):
    @abstractmethod
    def for_phrases(self, phrases: Sequence[str]) -> VideoTracker:
        """The same model prompted with these phrases (one video's samples' object names); shares the weights."""


AnyTracker = FrameTracker | VideoTracker
