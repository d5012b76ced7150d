"""What the samples of one video share while rendering: decoded frames, tracks and per-frame masks.

Built once per video by the pipeline after its single decoding pass; each sample's rows read
frames and masks from here, so a frame shared by several samples or variants is decoded, resized
and given masks once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vcprep.core.config import DecodeConfig, OutputConfig, PostprocessConfig
from vcprep.core.types import Frame, Tracks, VideoInfo
from vcprep.render.renderers.clip_masks import ClipMasks, masks_for_clip
from vcprep.track.postprocess import boxes_at_frame, drop_small_masks


def stored_size(info: VideoInfo, max_side: int) -> tuple[int, int]:
    """(width, height) of stored frames: the longer side at most `max_side`, aspect kept."""
    scale = 1.0 if max_side <= 0 else min(1.0, max_side / max(info.width, info.height))
    return max(1, round(info.width * scale)), max(1, round(info.height * scale))


@dataclass
class VideoContext:
    """One video's shared render state. `frames` are stored-size frames by source frame index."""

    info: VideoInfo
    tracks: Tracks
    """Post-processed tracks, unfiltered (target matching and the oracle read these)."""
    drawn_tracks: Tracks
    """The tracks renderers draw (STVG-R1's small-mask filter applied)."""
    frames: dict[int, Frame]
    width: int
    height: int
    step: int
    """Source frames between two tracked frames (the tolerance for matching and box lookup)."""
    seeded_targets: dict[str, int] = field(default_factory=dict)
    """Sample ID -> the track seeded from that sample's ground truth (`postprocess.seed_targets`)."""
    _objects: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _masks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray] | None] = field(default_factory=dict)

    @classmethod
    def build(cls, info: VideoInfo, tracks: Tracks, frames: dict[int, Frame], *, decode: DecodeConfig,
              output: OutputConfig, postprocess: PostprocessConfig,
              seeded_targets: dict[str, int] | None = None) -> VideoContext:
        width, height = stored_size(info, output.max_side)
        step = max(1, math.ceil(info.fps / min(decode.track_fps, info.fps)))
        return cls(info, tracks, drop_small_masks(tracks, postprocess.render_min_mask_ratio), frames, width,
                   height, step, dict(seeded_targets or {}))

    @property
    def scale(self) -> np.ndarray:
        """Source to stored pixels, as an xyxy multiplier."""
        sx, sy = self.width / self.info.width, self.height / self.info.height
        return np.array([sx, sy, sx, sy], np.float32)

    def objects_at(self, frame_index: int) -> tuple[np.ndarray, np.ndarray]:
        """(track IDs [K], stored-pixel boxes [K, 4]) drawn on a frame (boxes interpolated between tracked frames)."""
        if frame_index not in self._objects:
            ids, boxes = boxes_at_frame(self.drawn_tracks, frame_index, max_gap=2 * self.step)
            self._objects[frame_index] = (ids, boxes * self.scale)
        return self._objects[frame_index]

    def masks_at(self, frame_indices: list[int]) -> ClipMasks | None:
        """Masks of the drawn objects on these frames (None for box trackers), each frame's made once."""
        if self.drawn_tracks.mask_rle is None or not any(self.drawn_tracks.mask_rle):
            return None
        todo = [f for f in dict.fromkeys(frame_indices) if f not in self._masks]
        if todo:
            objects = [self.objects_at(f) for f in todo]
            made = masks_for_clip(self.drawn_tracks, todo, [o[0] for o in objects], [o[1] for o in objects],
                                  (self.width, self.height), max_gap=2 * self.step)
            assert made is not None
            for k, f in enumerate(todo):
                self._masks[f] = (made.masks[k], made.mask_boxes[k], made.mask_areas[k])
        per_frame = [self._masks[f] for f in frame_indices]
        return ClipMasks([m[0] for m in per_frame], [m[1] for m in per_frame],  # type: ignore[index]
                         [m[2] for m in per_frame])  # type: ignore[index]
