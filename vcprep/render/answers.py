"""Per-task ground truth of one sample once its video is known: key objects and the answer text.

Sources keep upstream units where only the video can resolve them (STGR's normalised boxes,
key-frame times); this module turns them into stored-frame pixels and source frame indices,
and formats the answer each task's template asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vcprep.core.errors import InputError
from vcprep.core.types import Sample, VideoInfo
from vcprep.render.prompts import GroundingClaim, PromptTemplate, task_answer

MCQ_TASKS = ("temporal_mcq", "general_mcq")


@dataclass(frozen=True)
class ResolvedKeyItem:
    """A key object's box at one time, in stored-frame pixels, on its nearest source frame."""

    name: str
    time_seconds: float
    frame_index: int
    xyxy: tuple[float, float, float, float]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "time_seconds": self.time_seconds, "frame_index": self.frame_index,
                "box": [round(v, 2) for v in self.xyxy]}


def resolve_key_items(sample: Sample, info: VideoInfo, scale_xyxy: np.ndarray) -> list[ResolvedKeyItem]:
    """Normalised boxes are multiplied by the source size, then every box by the stored scale.

    The frame is `round(time * fps)` of the decoded file, the nearest frame, as `sample_frame_indices` picks them
    (time is the authority: the row's frames are found by their time).
    A key item after the end of the video or outside the frame is bad input for this sample.
    """
    out = []
    size = np.array([info.width, info.height, info.width, info.height], np.float64)
    for item in sample.key_items:
        if item.time_seconds < 0 or item.time_seconds > info.duration_seconds + 1e-6:
            raise InputError(
                f"key item {item.name!r} at {item.time_seconds} s lies outside the video "
                f"({info.duration_seconds:.2f} s)"
            )
        src = np.asarray(item.xyxy, np.float64) * (size if item.normalized else 1.0)
        if src[2] > info.width + 1 or src[3] > info.height + 1:
            raise InputError(
                f"key item {item.name!r} box {src.tolist()} lies outside the {info.width}x{info.height} frame"
            )
        frame = min(info.frame_count - 1, round(item.time_seconds * info.fps))
        stored = src * scale_xyxy
        out.append(ResolvedKeyItem(item.name, float(item.time_seconds), int(frame),
                                   tuple(float(v) for v in stored)))  # type: ignore[arg-type]
    return out


def key_boxes_per_frame(items: list[ResolvedKeyItem], pts_seconds: list[float]) -> list[np.ndarray]:
    """Per stored frame, the key boxes annotated nearest to it ([K, 4] each).

    A key item is attached to its nearest stored frame only (so one annotation is drawn once),
    and only when it lies within half the frame spacing of it (frames may be subsampled).
    """
    boxes: list[list[tuple[float, float, float, float]]] = [[] for _ in pts_seconds]
    if pts_seconds:
        pts = np.asarray(pts_seconds)
        max_gap_seconds = 0.5 * float(np.median(np.diff(pts))) if len(pts) > 1 else 0.5
        for item in items:
            nearest = int(np.argmin(np.abs(pts - item.time_seconds)))
            if abs(pts[nearest] - item.time_seconds) <= max_gap_seconds + 1e-6:
                boxes[nearest].append(item.xyxy)
    return [np.asarray(b, np.float32).reshape(-1, 4) for b in boxes]


def sample_answer(
    sample: Sample, template: PromptTemplate, *, target_id: int | None, key_items: list[ResolvedKeyItem],
) -> str | None:
    """The answer text of the sample in its task's format (None when it cannot be known).

    For `stvg` a source-given answer wins (the generic format allows one); MCQ tasks read the
    option letter from `sample.answer`; free-form tasks its text; `st_grounding` states one
    claim per key box (stored pixels).
    """
    if sample.task == "stvg" and sample.answer:
        return sample.answer
    claims = [GroundingClaim(k.name, k.time_seconds, k.xyxy) for k in key_items]
    return task_answer(
        template, target_id=target_id, span=sample.gt_span_seconds,
        option=sample.answer if sample.task in MCQ_TASKS else None,
        text=sample.answer if sample.task not in MCQ_TASKS else None,
        claims=claims,
    )
