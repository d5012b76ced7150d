"""Numbers a sample may hold, whatever source made it: a bad number is that record's error, never a crash.

Upstream files are JSON written by others: `1e400` parses as infinity, `1e308` is finite but overflows
the moment it is multiplied by a rate, and a frame index of 10^20 does not fit the int64 arrays the
tracker and the detectors use. Each source checks the fields it reads; this is the one check every
sample passes afterwards (`plan_jobs`), so no number reaches decoding or tracking unless it is one a
real video can have.
"""

from __future__ import annotations

import math
from typing import Any

from vcprep.core.config import MAX_FPS
from vcprep.core.types import Sample

MAX_FRAME_INDEX = 2**31 - 1
"""Largest frame index (about 2 years of video at 30 fps)."""
MAX_VIDEO_SECONDS = 10_000_000.0
"""Largest time in seconds (about 115 days)."""
MAX_PIXEL_COORD = 1_000_000.0
"""Largest box coordinate in pixels."""
MAX_EXTRA_INT = 2**63 - 1
"""Largest integer carried in a sample's `extra` fields (int64, as Parquet stores it)."""


def _seconds(value: float, what: str) -> str | None:
    if not (math.isfinite(value) and 0 <= value <= MAX_VIDEO_SECONDS):
        return f"{what} {value!r} is outside [0, {MAX_VIDEO_SECONDS:g}] seconds"
    return None


def _box(box: tuple[float, ...], what: str, *, normalized: bool = False) -> str | None:
    top = 1.0 if normalized else MAX_PIXEL_COORD
    if not all(math.isfinite(v) and 0 <= v <= top + 1e-6 for v in box):
        return f"{what} {list(box)} has a coordinate outside [0, {top:g}]"
    return None


def _frame(index: int, what: str) -> str | None:
    if not 0 <= index <= MAX_FRAME_INDEX:
        return f"{what}: frame index {index} is outside [0, {MAX_FRAME_INDEX}]"
    return None


def _extra(value: Any, what: str) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        return None if -MAX_EXTRA_INT - 1 <= value <= MAX_EXTRA_INT else f"{what} {value} does not fit in int64"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{what} {value!r} is not finite"
    if isinstance(value, dict):
        return next((e for k, v in value.items() if (e := _extra(v, f"{what}.{k}"))), None)
    if isinstance(value, (list, tuple)):
        return next((e for i, v in enumerate(value) if (e := _extra(v, f"{what}[{i}]"))), None)
    return None


def sample_bounds_error(sample: Sample) -> str | None:
    """What is out of range in `sample` (naming the field), or None when every number fits a real video."""
    checks: list[str | None] = []
    if sample.fps is not None and not (math.isfinite(sample.fps) and 0 < sample.fps <= MAX_FPS):
        checks.append(f"fps {sample.fps!r} is outside (0, {MAX_FPS:g}]")
    for name, span in (("span", sample.gt_span_seconds), ("clip", sample.clip_span_seconds)):
        if span is not None:
            checks.extend(_seconds(v, f"{name} time") for v in span)
    for f, box in sample.gt_boxes.items():
        checks.extend((_frame(f, "box"), _box(box, f"box on frame {f}")))
    for i, item in enumerate(sample.key_items):
        checks.append(_seconds(item.time_seconds, f"key_items[{i}].time"))
        checks.append(_box(item.xyxy, f"key_items[{i}].box", normalized=item.normalized))
        if item.frame_index is not None:
            checks.append(_frame(item.frame_index, f"key_items[{i}]"))
    checks.append(_extra(sample.extra, "extra"))
    return next((c for c in checks if c), None)
