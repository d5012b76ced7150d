"""What the selector sees of a sample: its text ("question + key objects") and optional visual numbers from the tubes.

Why text first: VisionCoach's released selector is text-only (question + key object name) and works; the visual
features are cheap summaries already in every shard row (no frames decoded), switched on by config.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

VISUAL_FEATURES: tuple[str, ...] = (
    "log_num_tracks",  # log(1 + distinct track IDs in the clip): how crowded the scene is
    "tracks_per_frame",  # mean number of tracked boxes per tracked frame
    "target_area_share",  # mean ground-truth box area / frame area: small targets may need a spotlight
    "span_share",  # ground-truth span / clip length: short events may need a temporal crop
    "oracle_viou",  # best single track's vIoU (0 when missing): how well the tracks cover the target
    "target_tracked",  # 1 when the target was matched to a track (ID prompts can only help then)
)


def _as_list(value: Any) -> list:
    return [] if value is None else list(value)


def _meta(row: Mapping[str, Any]) -> dict:
    raw = row.get("meta")
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        loaded = json.loads(raw) if raw else {}
    except (TypeError, json.JSONDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def key_items_of(row: Mapping[str, Any]) -> list[str]:
    """Names of the key objects: `object_names`, else the distinct names of `meta.key_items` (STGR rows)."""
    names = [str(n) for n in _as_list(row.get("object_names")) if n]
    if names:
        return names
    items = _meta(row).get("key_items")
    if isinstance(items, list):
        seen: dict[str, None] = {}
        for item in items:
            if isinstance(item, Mapping) and item.get("name"):
                seen.setdefault(str(item["name"]), None)
        return list(seen)
    return []


def split_of(row: Mapping[str, Any]) -> str:
    """The source's own split of a sample (`meta.x_split`, e.g. `train` / `test`), or "" when it has none."""
    return str(_meta(row).get("x_split") or "")


def sample_text(question: str, key_items: list[str]) -> str:
    """The classifier's text input; the same string at train and predict time."""
    objects = ", ".join(key_items) if key_items else "none"
    return f"Question: {question.strip()}\nKey objects: {objects}"


def _finite(value: Any, default: float = 0.0) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


def visual_features_of_row(row: Mapping[str, Any]) -> list[float]:
    """The VISUAL_FEATURES of one shard row (raw variant preferred), from tube and ground-truth columns only."""
    ids = [int(t) for t in _as_list(row.get("tube_track_ids"))]
    frames = _as_list(row.get("tube_frame_indices"))
    per_frame: dict[int, int] = {}
    for f in frames:
        per_frame[int(f)] = per_frame.get(int(f), 0) + 1
    width, height = _finite(row.get("frame_width")), _finite(row.get("frame_height"))
    areas = []
    for box in _as_list(row.get("gt_boxes")):
        b = [_finite(c) for c in _as_list(box)]
        if len(b) == 4 and width > 0 and height > 0:
            areas.append(max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1]) / (width * height))
    span = [_finite(x) for x in _as_list(row.get("gt_span_seconds"))]
    clip = _meta(row).get("clip_span_seconds")
    clip_len = (
        _finite(clip[1]) - _finite(clip[0])
        if isinstance(clip, list) and len(clip) == 2
        else _finite(row.get("video_duration_seconds"))
    )
    span_share = (span[1] - span[0]) / clip_len if len(span) == 2 and clip_len > 0 else 0.0
    return [
        math.log1p(len(set(ids))),
        float(np.mean(list(per_frame.values()))) if per_frame else 0.0,
        float(np.mean(areas)) if areas else 0.0,
        min(1.0, max(0.0, span_share)),
        _finite(row.get("oracle_viou")),
        0.0 if row.get("target_id") is None or not math.isfinite(_finite(row.get("target_id"), math.nan)) else 1.0,
    ]
