"""Boxes taken from the annotations themselves, for datasets that annotate every object.

Ground truth is keyed by frame, so this detector implements the second interface,
`FrameIndexedDetector.detect_at(image, frame_index)`. The boxes reach it as a plain constructor
parameter (`boxes_by_frame`), which the tracking stage (`Trackers.detector_for` in `track/stage.py`)
fills from the video's samples: processing a video stays a pure function of (job, config), and
the boxes become part of the tracks cache key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import supervision as sv

from vcprep.core.types import Sample
from vcprep.track.detectors.base import FrameIndexedDetector


def boxes_from_samples(samples: Iterable[Sample]) -> dict[int, list[list[float]]]:
    """Every ground-truth box of the samples, grouped by source frame index (duplicates removed)."""
    out: dict[int, list[list[float]]] = {}
    for s in samples:
        for f, box in s.gt_boxes.items():
            row = [float(v) for v in box]
            if row not in out.setdefault(int(f), []):
                out[int(f)].append(row)
    return dict(sorted(out.items()))


class GroundTruthDetector(FrameIndexedDetector):
    def __init__(
        self,
        *,
        boxes_by_frame: Mapping[int | str, Sequence[Sequence[float]]] | None = None,
        tolerance_frames: int = 0,
        interpolate_max_gap: int = 0,
        class_id: int = 0,
    ) -> None:
        """
        Args:
            boxes_by_frame: source frame index -> list of xyxy boxes (filled by the pipeline).
            tolerance_frames: a tracked frame without annotation uses the nearest annotated frame
                within this many frames (annotations at 25 fps, tracking at 5 fps).
            interpolate_max_gap: a frame between two annotated frames at most this many frames apart,
                both with the same number of boxes, gets linearly interpolated boxes (paired in
                order). Sparse annotations (every 6th frame) otherwise jump too far for IoU trackers.
            class_id: class given to every box.
        """
        self.boxes = {int(k): np.asarray(v, np.float32).reshape(-1, 4) for k, v in (boxes_by_frame or {}).items()}
        self.frames = np.array(sorted(self.boxes), np.int64)
        self.tolerance_frames = tolerance_frames
        self.interpolate_max_gap = interpolate_max_gap
        self.class_id = class_id

    def detect_at(self, image: np.ndarray, frame_index: int) -> sv.Detections:
        xyxy = self.boxes_at(frame_index)
        if xyxy is None:
            return sv.Detections.empty()
        n = len(xyxy)
        return sv.Detections(xyxy=xyxy.copy(), confidence=np.ones(n, np.float32),
                             class_id=np.full(n, self.class_id, np.int64))

    def boxes_at(self, frame_index: int) -> np.ndarray | None:
        """Boxes [K, 4] for a frame: exact, interpolated, or nearest within tolerance; else None."""
        if self.frames.size == 0:
            return None
        if frame_index in self.boxes:
            return self.boxes[frame_index]
        pos = int(np.searchsorted(self.frames, frame_index))
        if 0 < pos < self.frames.size:
            a, b = int(self.frames[pos - 1]), int(self.frames[pos])
            if b - a <= self.interpolate_max_gap and len(self.boxes[a]) == len(self.boxes[b]):
                w = (frame_index - a) / (b - a)
                return ((1 - w) * self.boxes[a] + w * self.boxes[b]).astype(np.float32)
        j = int(np.argmin(np.abs(self.frames - frame_index)))
        if abs(int(self.frames[j]) - frame_index) > self.tolerance_frames:
            return None
        return self.boxes[int(self.frames[j])]
