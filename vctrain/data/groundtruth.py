"""The ground truth a reward or metric needs, read from one shard row (data_cards/SCHEMA.md).

Rewards never look at raw rows: a row becomes a small immutable `GroundTruth` once, so every reward reads the same
fields with the same units (seconds of the source video; boxes xyxy in pixels of the stored frame).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 (x2/y2 exclusive), pixels of the stored frame


@dataclass(frozen=True)
class KeyFrame:
    """One annotated frame: its time and the boxes of every key object on it (several boxes per object allowed)."""

    time_seconds: float
    objects: Mapping[str, tuple[Box, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class GroundTruth:
    """Everything the rewards compare a completion against. Fields a task does not use stay at their defaults."""

    task: str
    """`stvg` | `temporal_qa` | `temporal_mcq` | `st_free_form` | `st_grounding` | `general_mcq` |
    `general_free_form` (vcprep's task names; `st_reasoning`, `mcq`, `image_qa`, `video_qa` are accepted too)."""
    answer: str | None = None
    """Reference answer text (MCQ letter, free-form text, STVG answer)."""
    target_id: int | None = None
    """STVG-R1 ground-truth track ID (None when the target was never tracked)."""
    span_seconds: tuple[float, float] | None = None
    """Ground-truth [start, end] in seconds of the source video."""
    duration_seconds: float | None = None
    """Video duration; the Time-R1 tIoU variant divides errors by it."""
    key_frames: tuple[KeyFrame, ...] = ()
    """Annotated frames with their key objects' boxes (xyxy, stored-frame pixels)."""
    options: tuple[str, ...] = ()
    """Multiple-choice options, in letter order (A, B, ...)."""
    object_names: tuple[str, ...] = ()
    """Names of the key objects."""
    frame_size: tuple[int, int] | None = None
    """(width, height) of the stored frames; needed only to scale normalised predicted boxes."""
    source_size: tuple[int, int] | None = None
    """(width, height) of the original image or video that boxes written in `answer` refer to (VisionCoach's
    visual QA: `image_size`); such a box is rescaled to `frame_size` (its `image_size_refine`) before any IoU."""


def _as_list(value: Any) -> list:
    """Rows come from pyarrow (lists), pandas/datasets (numpy arrays) or JSON; None means empty."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    return list(value)


def _as_box(value: Any) -> Box | None:
    coords = _as_list(value)
    if len(coords) != 4:
        return None
    try:
        box = tuple(float(c) for c in coords)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(c) for c in box):
        return None
    return box  # type: ignore[return-value]


def _float_or_none(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _key_frames_from_items(raw: list) -> tuple[KeyFrame, ...]:
    """vcprep's `meta["key_items"]`: one `{name, time_seconds, box}` per box (stored-frame pixels), grouped here
    into one key frame per time with every object's boxes (several boxes per object = multi-region)."""
    grouped: dict[float, dict[str, list[Box]]] = {}
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        time_seconds, box = _float_or_none(item.get("time_seconds")), _as_box(item.get("box"))
        if time_seconds is None or box is None:
            continue
        grouped.setdefault(time_seconds, {}).setdefault(str(item.get("name") or ""), []).append(box)
    return tuple(
        KeyFrame(t, {name: tuple(boxes) for name, boxes in objects.items()}) for t, objects in sorted(grouped.items())
    )


def _key_frames_from_meta(meta: Mapping[str, Any]) -> tuple[KeyFrame, ...] | None:
    """Multi-object key frames, when a source stored them in `meta`: vcprep's `key_items` list, or
    `key_frames: [{"time_seconds": t, "objects": {name: [[x1, y1, x2, y2], ...]}}]` (stored-frame pixels)."""
    if isinstance(meta.get("key_items"), list):
        return _key_frames_from_items(meta["key_items"])
    raw = meta.get("key_frames")
    if not isinstance(raw, list):
        return None
    frames: list[KeyFrame] = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        time_seconds = _float_or_none(item.get("time_seconds", item.get("time")))
        objects = item.get("objects")
        if time_seconds is None or not isinstance(objects, Mapping):
            continue
        parsed: dict[str, tuple[Box, ...]] = {}
        for name, boxes in objects.items():
            raw_boxes = _as_list(boxes)
            if raw_boxes and not isinstance(raw_boxes[0], (list, tuple)) and _as_box(raw_boxes) is not None:
                raw_boxes = [raw_boxes]  # a single box given flat
            good = tuple(b for b in (_as_box(x) for x in raw_boxes) if b is not None)
            if good:
                parsed[str(name)] = good
        frames.append(KeyFrame(time_seconds, parsed))
    return tuple(frames)


def ground_truth_from_row(row: Mapping[str, Any]) -> GroundTruth:
    """Build the ground truth of one shard row.

    Key frames come from `meta["key_items"]` (or `meta["key_frames"]`) when a source stored multi-object frames
    there (STGR, V-STaR); otherwise from
    `gt_pts_seconds` + `gt_boxes` (one box per annotated frame) named after the first of `object_names`
    (an empty name when there is none: it then matches no predicted name in the spatial reward).
    """
    task = str(row.get("task") or "stvg")
    answer = row.get("answer")
    target = _float_or_none(row.get("target_id"))  # pandas turns a null int into NaN
    span = [_float_or_none(x) for x in _as_list(row.get("gt_span_seconds"))]
    span_seconds = (span[0], span[1]) if len(span) == 2 and None not in span else None
    names = tuple(str(n) for n in _as_list(row.get("object_names")))
    meta: Mapping[str, Any] = {}
    raw_meta = row.get("meta")
    if isinstance(raw_meta, str) and raw_meta:
        try:
            loaded = json.loads(raw_meta)
            meta = loaded if isinstance(loaded, Mapping) else {}
        except json.JSONDecodeError:
            meta = {}
    elif isinstance(raw_meta, Mapping):
        meta = raw_meta
    key_frames = _key_frames_from_meta(meta)
    if key_frames is None:
        name = names[0] if names else ""
        frames: list[KeyFrame] = []
        for time_value, box_value in zip(_as_list(row.get("gt_pts_seconds")), _as_list(row.get("gt_boxes"))):
            time_seconds, box = _float_or_none(time_value), _as_box(box_value)
            if time_seconds is not None and box is not None:
                frames.append(KeyFrame(time_seconds, {name: (box,)}))
        key_frames = tuple(frames)
    width, height = row.get("frame_width"), row.get("frame_height")
    source_width, source_height = row.get("source_width"), row.get("source_height")
    return GroundTruth(
        task=task,
        answer=None if answer is None else str(answer),
        target_id=None if target is None else int(target),
        span_seconds=span_seconds,  # type: ignore[arg-type]
        duration_seconds=_float_or_none(row.get("video_duration_seconds")),
        key_frames=key_frames,
        options=tuple(str(o) for o in _as_list(row.get("options"))),
        object_names=names,
        frame_size=(int(width), int(height)) if width and height else None,
        source_size=(int(source_width), int(source_height)) if source_width and source_height else None,
    )
