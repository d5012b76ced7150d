"""One in-order decoding pass over a video, shared by tracking and rendering.

Tracking asks for its frames segment by segment (`segment`); rendering asks for its frames to
be kept (`keep`), already resized to the stored size. Every frame is decoded at most once, in
increasing order, whatever the number of samples, variants and tracked segments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from vcprep.core.types import Frame
from vcprep.decode.video import read_frames


class FramePass:
    def __init__(self, path: str | Path, *, track: Iterable[int] = (), keep: Iterable[int] = (),
                 backend: str = "cv2", resize: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """
        Args:
            track: frame indices some tracked segment will ask for through `segment`.
            keep: frame indices rendering needs; kept (resized) as they stream past.
            resize: applied to kept images only (the detector sees source pixels).
        """
        self._keep = {int(i) for i in keep}
        wanted = self._keep | {int(i) for i in track}
        self._frames = read_frames(path, sorted(wanted), backend=backend)
        self._resize = resize
        self.kept: dict[int, Frame] = {}
        self.frames_decoded = 0

    def _next(self) -> Frame | None:
        frame = next(self._frames, None)
        if frame is None:
            return None
        self.frames_decoded += 1
        if frame.frame_index in self._keep:
            image = frame.image if self._resize is None else self._resize(frame.image)
            self.kept[frame.frame_index] = Frame(frame.frame_index, frame.pts_seconds, image)
        return frame

    def segment(self, indices: np.ndarray) -> Iterator[Frame]:
        """The frames of one tracked segment, in order; frames before it that rendering needs are kept."""
        wanted = {int(i) for i in indices}
        if not wanted:
            return
        last = max(wanted)
        while (frame := self._next()) is not None:
            if frame.frame_index in wanted:
                yield frame
            if frame.frame_index >= last:
                return

    def finish(self) -> dict[int, Frame]:
        """Decode what is left (rendering's frames after the last segment) and return every kept frame."""
        while self._next() is not None:
            pass
        return self.kept
