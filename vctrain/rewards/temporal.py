"""Temporal rewards: span IoU of the answer (plain and Time-R1), and the VisionCoach rewards on `<t>` times in the
reasoning (Gaussian point proximity and in-span fraction)."""

from __future__ import annotations

import math

from vctrain.groundtruth import GroundTruth
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
)


def predicted_span(
    completion: str, gt: GroundTruth, answer_tag: AnswerTag, grammar: Grammar, both_required: bool
) -> tuple[float, float] | None:
    """The answer's span, read with STVG-R1's grammar for `stvg` rows and VisionCoach's `<t>` form otherwise."""
    answer = answer_text(completion, pick_answer_tag(gt.task, answer_tag))
    if answer is None:
        return None
    if gt.task in STVG_TASKS:
        return parse_stvg_answer(answer, grammar=grammar, both_required=both_required).span_seconds
    return parse_span(answer)


def tiou(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    answer_tag: AnswerTag = "auto",
    grammar: Grammar = "lenient",
    both_required: bool = False,
) -> dict[str, float]:
    """Temporal IoU of the answered span with the ground-truth span; 0 when unparsable or reversed (e < s)."""
    span = predicted_span(completion, gt, answer_tag, grammar, both_required)
    parsed = span is not None
    reverse = parsed and span[1] < span[0]
    score = interval_iou(span, gt.span_seconds) if parsed and gt.span_seconds is not None else 0.0
    return {"score": score, "parsed": float(parsed), "reversed": float(reverse)}


def tiou_timer1(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    answer_tag: AnswerTag = "auto",
    grammar: Grammar = "lenient",
    both_required: bool = False,
) -> dict[str, float]:
    """Time-R1: `tIoU * (1 - |s - s*|/D) * (1 - |e - e*|/D)`, D the video duration.

    Each factor is clamped to [0, 1], so an error larger than the video never makes the reward negative (the
    source's v2 can). Without a known duration the factors are 1 (plain tIoU) and `duration_known` says so.
    """
    base = tiou(completion, gt, answer_tag=answer_tag, grammar=grammar, both_required=both_required)
    span = predicted_span(completion, gt, answer_tag, grammar, both_required)
    duration = gt.duration_seconds
    known = duration is not None and math.isfinite(duration) and duration > 0
    score = base["score"]
    if score > 0 and known and span is not None and gt.span_seconds is not None:
        start_factor = min(1.0, max(0.0, 1.0 - abs(span[0] - gt.span_seconds[0]) / duration))
        end_factor = min(1.0, max(0.0, 1.0 - abs(span[1] - gt.span_seconds[1]) / duration))
        score *= start_factor * end_factor
    return {"score": score, "tiou": base["score"], "duration_known": float(known)}


def point_sigma_seconds(progress: float) -> float:
    """VisionCoach's schedule: sigma = 4 (1 - p) while training progress p < 0.75, then 1 (continuous at 0.75)."""
    p = min(1.0, max(0.0, float(progress)))
    return 4.0 * (1.0 - p) if p < 0.75 else 1.0


def _reasoning(completion: str, scope: str) -> str | None:
    return think_text(completion) if scope == "think" else completion


def temporal_point(
    completion: str, gt: GroundTruth, *, progress: float = 0.0, scope: str = "think"
) -> dict[str, float]:
    """Mean over `<t>` values in the reasoning of exp(-dt^2 / 2 sigma^2), dt the distance to the nearest
    ground-truth key-frame time. A malformed `<t>` scores 0 and stays in the mean; no `<t>` at all scores 0.
    `scope="all"` reads the whole completion instead of `<think>` only."""
    text = _reasoning(completion, scope)
    values = time_tags(text) if text is not None else []
    key_times = [frame.time_seconds for frame in gt.key_frames]
    sigma = point_sigma_seconds(progress)
    if not values or not key_times:
        return {"score": 0.0, "n_times": float(len(values)), "sigma": sigma}
    total = 0.0
    for value in values:
        if value is not None:
            dt = min(abs(value - t) for t in key_times)
            total += math.exp(-(dt**2) / (2 * sigma**2))
    return {"score": total / len(values), "n_times": float(len(values)), "sigma": sigma}


def temporal_segment(
    completion: str, gt: GroundTruth, *, progress: float = 0.0, scope: str = "think"
) -> dict[str, float]:
    """Fraction of `<t>` values in the reasoning inside the ground-truth span (ends included). A malformed `<t>`
    counts as outside; it does not zero the whole reward as in the source."""
    text = _reasoning(completion, scope)
    values = time_tags(text) if text is not None else []
    if not values or gt.span_seconds is None:
        return {"score": 0.0, "n_times": float(len(values))}
    start, end = gt.span_seconds
    inside = sum(1 for v in values if v is not None and start <= v <= end)
    return {"score": inside / len(values), "n_times": float(len(values))}
