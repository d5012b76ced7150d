"""The video metadata that gives a Qwen processor a row's true frame times.

Qwen3-VL writes `<t seconds>` before each 2-frame temporal patch, computed as `frames_indices[i] / fps` (averaged
over the patch); Qwen2.5-VL spaces its temporal positions by `second_per_grid_ts = 2 / sampled_fps`, where
transformers' `sampled_fps = len(frames_indices) / total_num_frames * fps`. A frame list read by qwen-vl-utils
gets made-up metadata (indices 0..n-1 at `sample_fps`): Qwen3-VL then sees every clip start at 0 s. This metadata
uses the source frame indices and rate stored with each exported video entry instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def true_video_metadata(entry: Mapping[str, Any], n_frames: int) -> dict[str, Any] | None:
    """Metadata for a video entry written by `vcprep export --to verl` (`frame_indices`, `source_fps`,
    `sample_fps`), for `n_frames` decoded frames (qwen-vl-utils repeats the last frame up to an even count);
    None for an entry without them (left to the framework)."""
    indices: Sequence[int] | None = entry.get("frame_indices")
    source_fps, rate_fps = entry.get("source_fps"), entry.get("sample_fps")
    if not indices or not source_fps or not rate_fps:
        return None
    padded = [int(i) for i in indices] + [int(indices[-1])] * max(0, n_frames - len(indices))
    return {"fps": float(source_fps), "frames_indices": padded[:n_frames],
            "total_num_frames": n_frames / float(rate_fps) * float(source_fps)}
