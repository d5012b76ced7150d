"""The small data types every stage passes along.

Units are in the names: `frame_index` counts frames of the source video from 0, `pts_seconds`
is the presentation time in the source video. Boxes are xyxy pixels of the source video until
the render stage scales them to the stored frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class VideoInfo:
    """What decoding needs to know about a file before reading frames."""

    path: str
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_seconds(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass(frozen=True)
class Frame:
    """One decoded frame (RGB uint8 [H, W, 3]) with its position in the source video."""

    frame_index: int
    pts_seconds: float
    image: np.ndarray


@dataclass(frozen=True)
class KeyItem:
    """One box of one named key object at one annotated time (STGR key items, V-STaR boxes).

    `time_seconds` is authoritative: the render stage maps it to the nearest source frame with
    the decoded file's fps (`frame_index` from the annotation is kept only as provenance).
    `normalized` boxes are fractions of the frame (STGR); they become pixels once the video's
    size is known. Several KeyItems may share a time and a name (multi-region objects).
    """

    name: str
    time_seconds: float
    xyxy: tuple[float, float, float, float]
    normalized: bool = False
    frame_index: int | None = None


@dataclass(frozen=True)
class Sample:
    """One annotated query about one video, in the toolkit's internal model.

    Every dataset source converts its records to this, so later stages never see upstream
    conventions (1-based frames, xywh boxes, normalised coordinates are resolved by sources).
    """

    sample_id: str
    video_path: str
    """Path relative to the source's data root (never absolute, never escaping it)."""
    question: str
    task: str = "stvg"
    source: str = "jsonl"
    gt_span_seconds: tuple[float, float] | None = None
    """Ground-truth temporal span [start, end] in seconds of the source video."""
    gt_boxes: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)
    """Ground-truth boxes of the target, keyed by source frame index, xyxy source pixels."""
    clip_span_seconds: tuple[float, float] | None = None
    """Part of the video the sample is about; None means the whole video."""
    object_names: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    answer: str | None = None
    """Free-form or option answer where the task has one (MCQ letter, text)."""
    fps: float | None = None
    """Frame rate declared by the annotation; decoding trusts the file and records both."""
    extra: dict[str, Any] = field(default_factory=dict)
    key_items: tuple[KeyItem, ...] = ()
    """Boxes of every key object (possibly several objects per frame); the single-target
    `gt_boxes` stay the STVG ground truth, these feed multi-object grounding tasks."""


@dataclass
class Tracks:
    """Every tracked box of one video as struct-of-arrays (one entry per box per frame).

    Kept in source pixels. `track_id` is compact (1..K by first appearance) after
    post-processing; `mask_rle` holds COCO-style RLE strings where a tracker produced masks.
    """

    frame_index: np.ndarray  # [N] int64
    pts_seconds: np.ndarray  # [N] float64
    track_id: np.ndarray  # [N] int64
    xyxy: np.ndarray  # [N, 4] float32
    score: np.ndarray  # [N] float32
    class_id: np.ndarray  # [N] int32
    mask_rle: list[str | None] | None = None
    frame_indices_tracked: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """All frames the tracker saw, including those with no boxes."""

    @classmethod
    def empty(cls) -> Tracks:
        return cls(
            frame_index=np.zeros(0, np.int64),
            pts_seconds=np.zeros(0, np.float64),
            track_id=np.zeros(0, np.int64),
            xyxy=np.zeros((0, 4), np.float32),
            score=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int32),
        )

    def __len__(self) -> int:
        return int(self.frame_index.shape[0])

    @classmethod
    def concat(cls, parts: list[Tracks]) -> Tracks:
        """Boxes of several Tracks in order; masks are kept only when every part has them."""
        if not parts:
            return cls.empty()
        with_masks = all(p.mask_rle is not None for p in parts) and any(len(p) for p in parts)
        return cls(
            frame_index=np.concatenate([p.frame_index for p in parts]),
            pts_seconds=np.concatenate([p.pts_seconds for p in parts]),
            track_id=np.concatenate([p.track_id for p in parts]),
            xyxy=np.concatenate([p.xyxy.reshape(-1, 4) for p in parts]).astype(np.float32),
            score=np.concatenate([p.score for p in parts]),
            class_id=np.concatenate([p.class_id for p in parts]),
            mask_rle=[m for p in parts for m in (p.mask_rle or [])] if with_masks else None,
            frame_indices_tracked=np.unique(np.concatenate([p.frame_indices_tracked for p in parts])),
        )

    def select(self, keep: np.ndarray) -> Tracks:
        return Tracks(
            frame_index=self.frame_index[keep],
            pts_seconds=self.pts_seconds[keep],
            track_id=self.track_id[keep],
            xyxy=self.xyxy[keep],
            score=self.score[keep],
            class_id=self.class_id[keep],
            mask_rle=None if self.mask_rle is None else [m for m, k in zip(self.mask_rle, keep) if k],
            frame_indices_tracked=self.frame_indices_tracked,
        )

    def at_frame(self, frame_index: int) -> Tracks:
        return self.select(self.frame_index == frame_index)

    def ids(self) -> np.ndarray:
        return np.unique(self.track_id)


@dataclass
class Clip:
    """The frames of one sample as a renderer sees them.

    `boxes[i]` / `track_ids[i]` are the tracked objects on frame i in stored-frame pixels;
    `focus_boxes[i]` are the boxes a spotlight-like prompt should light (the target's track,
    or the ground truth where no track matched); `key_frame[i]` marks annotated frames.
    """

    images: list[np.ndarray]
    frame_indices: list[int]
    pts_seconds: list[float]
    track_ids: list[np.ndarray]
    boxes: list[np.ndarray]
    focus_boxes: list[np.ndarray]
    key_frame: list[bool]
    gt_span_seconds: tuple[float, float] | None = None
    masks: list[np.ndarray] | None = None
    """[K, H, W] bool masks of the tracked objects per frame; None for box trackers."""
    mask_boxes: list[np.ndarray] | None = None
    """[K, 4] int32 tight box (x0, y0, x1, y1, ends exclusive) of each mask per frame, made with the
    masks (`masks_for_clip`) so that renderers need not search them; None: renderers compute them."""
    mask_areas: list[np.ndarray] | None = None
    """[K] int64 pixels of each mask per frame, alongside `mask_boxes`."""
    key_boxes: list[np.ndarray] | None = None
    """Boxes of every key object of the sample per frame (a spotlight with `focus: all` lights
    them); None means the sample names no key objects beyond its target."""
    focus: str | None = None
    """Per-sample choice of what a spotlight or circle marks (`target` or `all`); None keeps
    the renderer's own setting."""

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, keep: list[int]) -> Clip:
        def pick(xs: list[T]) -> list[T]:
            return [xs[i] for i in keep]

        def pick_some(xs: list[T] | None) -> list[T] | None:
            return None if xs is None else pick(xs)

        return Clip(
            images=pick(self.images),
            frame_indices=pick(self.frame_indices),
            pts_seconds=pick(self.pts_seconds),
            track_ids=pick(self.track_ids),
            boxes=pick(self.boxes),
            focus_boxes=pick(self.focus_boxes),
            key_frame=pick(self.key_frame),
            gt_span_seconds=self.gt_span_seconds,
            masks=pick_some(self.masks),
            mask_boxes=pick_some(self.mask_boxes),
            mask_areas=pick_some(self.mask_areas),
            key_boxes=pick_some(self.key_boxes),
            focus=self.focus,
        )
