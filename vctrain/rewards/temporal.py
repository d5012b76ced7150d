"""Temporal rewards: span IoU of the answer (plain and Time-R1), and the VisionCoach rewards on `<t>` times in the
reasoning (Gaussian point proximity and in-span fraction).

Every reward takes `convention` (vctrain.rewards.conventions) and the individual switches that it sets; a switch left
at None comes from the convention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from vctrain.data.groundtruth import GroundTruth
from vctrain.rewards.conventions import resolve_options
from vctrain.rewards.geometry import interval_iou
from vctrain.rewards.parse import (
    STVG_TASKS,
    AnswerTag,
    Grammar,
    answer_text,
    parse_span,
    parse_stvg_answer,
    pick_answer_tag,
    think_text,
    time_tags,
    time_tags_visioncoach,
)
from vctrain.rewards.tasks import GENERAL_TASKS, IMAGE_TASKS, ST_FREE_FORM_TASKS, TEMPORAL_TASKS

TimeTags = Literal["lenient", "visioncoach"]


@dataclass(frozen=True)
class SpanOptions:
    """How the answer's span is read and which rows are scored."""

    answer_tag: AnswerTag = "auto"
    """Which `<answer>`: `auto` (last for stvg rows, first otherwise), `first` or `last`."""
    grammar: Grammar = "lenient"
    """Span grammar (vctrain.rewards.parse); `lenient` reads STVG-R1's form on stvg rows and any span elsewhere."""
    both_required: bool = False
    """STVG-R1: a missing ID voids the span too."""
    temporal_tasks_only: bool = False
    """VisionCoach's ans_tiou_reward pays 0 on rows that are not temporal QA / temporal MCQ."""
    clamp_factors: bool = True
    """Time-R1 variant: clamp each (1 - |error| / D) factor to [0, 1] (the source's can go negative)."""
    normalise_first: bool = False
    """Time-R1 variant: |s/D - s*/D| (the source's order of operations) instead of |s - s*| / D."""


SPAN_CONVENTIONS: dict[str, SpanOptions] = {
    "default": SpanOptions(),
    "stvg_r1": SpanOptions(answer_tag="last", grammar="stvg_r1", both_required=True),
    "time_r1": SpanOptions(answer_tag="last", grammar="time_r1", clamp_factors=False, normalise_first=True),
    "visioncoach": SpanOptions(answer_tag="first", grammar="visioncoach", temporal_tasks_only=True),
}


def predicted_span(completion: str, gt: GroundTruth, opts: SpanOptions) -> tuple[float, float] | None:
    """The answer's span: lenient reads STVG-R1's grammar on `stvg` rows and any span form otherwise; a source
    grammar reads its own form on every row."""
    answer = answer_text(completion, pick_answer_tag(gt.task, opts.answer_tag))
    if answer is None:
        return None
    if opts.grammar == "lenient" and gt.task not in STVG_TASKS:
        return parse_span(answer)
    return parse_stvg_answer(answer, grammar=opts.grammar, both_required=opts.both_required).span_seconds


def tiou(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    convention: str = "default",
    answer_tag: AnswerTag | None = None,
    grammar: Grammar | None = None,
    both_required: bool | None = None,
    temporal_tasks_only: bool | None = None,
) -> dict[str, float]:
    """Temporal IoU of the answered span with the ground-truth span; 0 when unparsable or reversed (e < s), and 0
    on a zero-length union (every source agrees, or divides by zero)."""
    opts = resolve_options(
        SPAN_CONVENTIONS, convention, answer_tag=answer_tag, grammar=grammar, both_required=both_required,
        temporal_tasks_only=temporal_tasks_only,
    )  # fmt: skip
    if opts.temporal_tasks_only and gt.task not in TEMPORAL_TASKS:
        return {"score": 0.0, "parsed": 0.0, "reversed": 0.0}
    span = predicted_span(completion, gt, opts)
    parsed = span is not None
    reverse = span is not None and span[1] < span[0]
    score = interval_iou(span, gt.span_seconds) if span is not None and gt.span_seconds is not None else 0.0
    return {"score": score, "parsed": float(parsed), "reversed": float(reverse)}


def tiou_timer1(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    convention: str = "default",
    answer_tag: AnswerTag | None = None,
    grammar: Grammar | None = None,
    both_required: bool | None = None,
    clamp_factors: bool | None = None,
) -> dict[str, float]:
    """Time-R1: `tIoU * (1 - |s - s*|/D) * (1 - |e - e*|/D)`, D the video duration.

    By default each factor is clamped to [0, 1], so an error larger than the video never makes the reward negative;
    `convention="time_r1"` (or `clamp_factors=False`) returns the source's value, negative ones included. Without a
    known duration the factors are 1 (plain tIoU) and `duration_known` says so (the source cannot run without one).
    """
    opts = resolve_options(
        SPAN_CONVENTIONS, convention, answer_tag=answer_tag, grammar=grammar, both_required=both_required,
        clamp_factors=clamp_factors,
    )  # fmt: skip
    span = predicted_span(completion, gt, opts)
    base = interval_iou(span, gt.span_seconds) if span is not None and gt.span_seconds is not None else 0.0
    duration = gt.duration_seconds
    known = duration is not None and math.isfinite(duration) and duration > 0
    score = base
    if score > 0 and duration is not None and known and span is not None and gt.span_seconds is not None:
        if opts.normalise_first:  # main.py iou_timestamp_reward_v2: both times divided by D, then subtracted
            start_error = abs(gt.span_seconds[0] / duration - span[0] / duration)
            end_error = abs(gt.span_seconds[1] / duration - span[1] / duration)
        else:
            start_error = abs(span[0] - gt.span_seconds[0]) / duration
            end_error = abs(span[1] - gt.span_seconds[1]) / duration
        start_factor, end_factor = 1.0 - start_error, 1.0 - end_error
        if opts.clamp_factors:
            start_factor, end_factor = min(1.0, max(0.0, start_factor)), min(1.0, max(0.0, end_factor))
        score *= start_factor * end_factor
    return {"score": score, "tiou": base, "duration_known": float(known)}


@dataclass(frozen=True)
class TimeTagOptions:
    """How the `<t>` times of the reasoning are read and which rows are scored."""

    time_tags: TimeTags = "lenient"
    """`lenient`: every `<t>..</t>` (spaces and a unit allowed), a malformed one scores 0 and stays in the mean;
    `visioncoach`: only `<t>digits.and.dots</t>s`, and one that is not a number zeroes the whole reward."""
    scope: Literal["think", "all"] = "think"
    """Read the first `<think>` (the sources) or the whole completion."""
    clamp_progress: bool = True
    """Clamp training progress to [0, 1] before the sigma schedule (the source does not)."""


TIME_TAG_CONVENTIONS: dict[str, TimeTagOptions] = {
    "default": TimeTagOptions(),
    "visioncoach": TimeTagOptions(time_tags="visioncoach", clamp_progress=False),
}


def point_sigma_seconds(progress: float, *, clamp: bool = True) -> float:
    """VisionCoach's schedule: sigma = 4 (1 - p) while training progress p < 0.75, then 1 (continuous at 0.75)."""
    p = min(1.0, max(0.0, float(progress))) if clamp else float(progress)
    return 4.0 * (1.0 - p) if p < 0.75 else 1.0


def _times(completion: str, opts: TimeTagOptions) -> list[float | None] | None:
    """The reasoning's times (None entries: malformed tags, lenient only); None when there is no reasoning or, in
    VisionCoach's reading, when one tag is not a number."""
    text = think_text(completion) if opts.scope == "think" else completion
    if text is None:
        return None
    if opts.time_tags == "visioncoach":
        values = time_tags_visioncoach(text)
        return None if values is None else list(values)
    return time_tags(text)


POINT_SKIPPED_TASKS = IMAGE_TASKS | TEMPORAL_TASKS | GENERAL_TASKS
"""thk_temporal_point_reward pays 0 on visual QA, temporal QA (and MCQ) and general video QA."""
SEGMENT_SKIPPED_TASKS = IMAGE_TASKS | ST_FREE_FORM_TASKS | GENERAL_TASKS
"""thk_temporal_segment_reward pays 0 on visual QA, temporal-spatial free-form QA and general video QA."""


def temporal_point(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    convention: str = "default",
    scope: Literal["think", "all"] | None = None,
    time_tags: TimeTags | None = None,
) -> dict[str, float]:
    """Mean over `<t>` values in the reasoning of exp(-dt^2 / 2 sigma^2), dt the distance to the nearest
    ground-truth key-frame time; 0 on tasks without key frames in time (visual, temporal and general QA), without
    `<t>`, or without key frames (the source raises there)."""
    opts = resolve_options(TIME_TAG_CONVENTIONS, convention, scope=scope, time_tags=time_tags)
    sigma = point_sigma_seconds(progress, clamp=opts.clamp_progress)
    values = None if gt.task in POINT_SKIPPED_TASKS else _times(completion, opts)
    key_times = [frame.time_seconds for frame in gt.key_frames]
    if not values or not key_times:
        return {"score": 0.0, "n_times": float(len(values or [])), "sigma": sigma}
    total = 0.0
    for value in values:
        if value is not None:
            dt = min(abs(value - t) for t in key_times)
            total += math.exp(-(dt**2) / (2 * sigma**2))
    return {"score": total / len(values), "n_times": float(len(values)), "sigma": sigma}


def temporal_segment(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    convention: str = "default",
    scope: Literal["think", "all"] | None = None,
    time_tags: TimeTags | None = None,
) -> dict[str, float]:
    """Fraction of `<t>` values in the reasoning inside the ground-truth span (ends included); 0 on visual QA,
    spatio-temporal free-form and general QA rows. By default a malformed `<t>` counts as outside; VisionCoach's
    reading (`convention="visioncoach"`) zeroes the whole reward instead."""
    opts = resolve_options(TIME_TAG_CONVENTIONS, convention, scope=scope, time_tags=time_tags)
    values = None if gt.task in SEGMENT_SKIPPED_TASKS else _times(completion, opts)
    if not values or gt.span_seconds is None:
        return {"score": 0.0, "n_times": float(len(values or []))}
    start, end = gt.span_seconds
    inside = sum(1 for v in values if v is not None and start <= v <= end)
    return {"score": inside / len(values), "n_times": float(len(values))}
