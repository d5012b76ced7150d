"""Evaluation metrics (tIoU, vIoU, vIoU@R, Charades-STA R@1, V-STaR When/Where/AM/LGM), every convention a parameter.

Conventions and the sources' pitfalls we deliberately avoid (each listed in data_cards/CONVENTIONS.md):
- Degenerate input scores 0 and the sample stays in the mean: a zero-length union, a zero-area box or an
  unparsable prediction never becomes NaN and never silently leaves the average.
- An overlap of exactly one evaluated frame counts (STVG-R1's evaluation scores it 0).
- Boxes are xyxy with x2/y2 exclusive on both sides (predicted tubes and ground truth alike), so a perfect box
  scores 1.0 (STVG-R1 compares mask boxes ending on the last pixel with x+w ground truth: 0.9025 on 20x20).
- A predicted ID absent from a frame has no box there (IoU 0); boxes of other objects are never borrowed (STVG-R1's
  evaluation borrows them: `rule="stvg_r1"`).
- Seconds become frames by the row's own frame times (`span_frames="pts"`); `"truncate"` reproduces STVG-R1's
  `int(seconds * fps)` and `"round"` rounds.
- vIoU@R compares with `>` (TubeDETR, CG-STVG) by default; `comparison=">="` is STVG-R1's. Charades-STA R@1 uses
  `>=` by default (Moment-DETR); Time-R1 uses `>`.
- `rule="stvg_r1"` / `"tubedetr"` replace all of the above by that source's own evaluation (source_rules.py);
  `EVAL_CONVENTIONS` lists what each `eval.convention` sets.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from vctrain.data.groundtruth import Box
from vctrain.evaluation.source_rules import (
    last_pixel_box,
    stvg_r1_frames,
    stvg_r1_predicted_boxes,
    stvg_r1_tiou,
    stvg_r1_viou,
    tubedetr_frame_ids,
    tubedetr_sample,
)
from vctrain.rewards.geometry import box_iou, interval_iou
from vctrain.rewards.parse import AnswerTag, Grammar, answer_text, parse_stvg_answer, pick_answer_tag

Comparison = Literal[">", ">="]
SpanFrames = Literal["pts", "truncate", "round"]
Rule = Literal["toolkit", "stvg_r1", "tubedetr"]
Grid = Literal["tube", "annotated", "fps"]


def _seq(row: Mapping[str, Any], key: str) -> list:
    """A list column of a row from pyarrow (list), pandas/datasets (numpy array) or JSON; missing/None -> []."""
    value = row.get(key)
    return [] if value is None else list(value)


def passes(value: float, threshold: float, comparison: Comparison) -> bool:
    """`value > threshold` or `value >= threshold`."""
    return value > threshold if comparison == ">" else value >= threshold


def frame_span_iou(pred: Sequence[int] | None, gt: Sequence[int] | None) -> float:
    """tIoU of inclusive frame spans [s, e] (a span of one frame has length 1); 0 for reversed or missing spans."""
    if pred is None or gt is None or pred[1] < pred[0] or gt[1] < gt[0]:
        return 0.0
    inter = max(0, min(pred[1], gt[1]) - max(pred[0], gt[0]) + 1)
    union = (pred[1] - pred[0] + 1) + (gt[1] - gt[0] + 1) - inter
    return inter / union if union > 0 else 0.0


def temporal_iou(
    pred: Sequence[float] | None, gt: Sequence[float] | None, *, unit: Literal["seconds", "frames"] = "seconds"
) -> float:
    """tIoU over seconds (continuous) or frames (inclusive integer spans); 0 for missing or reversed spans."""
    if pred is None or gt is None:
        return 0.0
    if unit == "frames":
        return frame_span_iou((int(pred[0]), int(pred[1])), (int(gt[0]), int(gt[1])))
    return interval_iou(pred, gt)


def mean(values: Iterable[float]) -> float:
    """Mean with NaN/inf counted as 0 (so one bad sample cannot poison a dataset mean); 0 for no values."""
    cleaned = [v if math.isfinite(v) else 0.0 for v in values]
    return sum(cleaned) / len(cleaned) if cleaned else 0.0


def viou(
    pred_frames: Iterable[int],
    gt_frames: Iterable[int],
    pred_boxes: Mapping[int, Box],
    gt_boxes: Mapping[int, Box],
) -> float:
    """vIoU = sum over frames in T_pred ∩ T_gt of box IoU / |T_pred ∪ T_gt| (frame sets already on the grid).

    A frame of the intersection without a predicted (or ground-truth) box scores 0; an empty union scores 0.
    """
    pred_set, gt_set = set(pred_frames), set(gt_frames)
    union = pred_set | gt_set
    if not union:
        return 0.0
    return sum(box_iou(pred_boxes.get(f), gt_boxes.get(f)) for f in pred_set & gt_set) / len(union)


# ---------------------------------------------------------------- boxes from tracks
def tube_boxes_for_id(
    row: Mapping[str, Any], target_id: int | None, span_seconds: Sequence[float] | None = None
) -> dict[int, Box]:
    """STVG-R1's answer (an ID, optionally a span) turned into per-frame boxes from the row's tube columns.

    Returns {frame_index: box} for the frames where that ID was tracked (inside the span, ends included, by the
    frames' times when a span is given). An ID that was never tracked gives {}: no box is borrowed from others.
    """
    if target_id is None:
        return {}
    frames = list(_seq(row, "tube_frame_indices"))
    ids = list(_seq(row, "tube_track_ids"))
    boxes = list(_seq(row, "tube_boxes"))
    fps = float(row.get("video_fps") or 0.0)
    times = list(_seq(row, "tube_pts_seconds"))
    if len(times) != len(frames):
        times = [f / fps if fps > 0 else math.nan for f in frames]
    out: dict[int, Box] = {}
    for frame, track, box, t in zip(frames, ids, boxes, times):
        if int(track) != int(target_id) or box is None or len(box) != 4:
            continue
        if span_seconds is not None and not (span_seconds[0] <= t <= span_seconds[1]):
            continue
        out[int(frame)] = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
    return out


def interpolate_boxes(boxes: Mapping[int, Box], frames: Iterable[int], *, max_gap_frames: int) -> dict[int, Box]:
    """Boxes at `frames`: exact where known, linearly interpolated between two known frames of the *same* object at
    most `max_gap_frames` apart, absent otherwise (no extrapolation past the first or last known frame)."""
    known = sorted(boxes)
    out: dict[int, Box] = {}
    for f in frames:
        if f in boxes:
            out[f] = boxes[f]
            continue
        i = bisect.bisect_left(known, f)
        if i == 0 or i == len(known):
            continue
        a, b = known[i - 1], known[i]
        if b - a > max_gap_frames:
            continue
        w = (f - a) / (b - a)
        out[f] = tuple((1 - w) * pa + w * pb for pa, pb in zip(boxes[a], boxes[b]))  # type: ignore[assignment]
    return out


# ---------------------------------------------------------------- STVG evaluation
@dataclass(frozen=True)
class STVGEvalConfig:
    """Conventions of the spatio-temporal grounding metrics (defaults: this toolkit's; see the module docstring)."""

    grid: Grid = "tube"
    """Frames vIoU is evaluated on: `tube` = the frames the tracker ran on (tracking rate), `annotated` = the
    annotated frames, `fps` = the video resampled evenly at `eval_fps` (not TubeDETR's grid, which assumes 20 s
    videos and never samples the last frame: that is `rule="tubedetr"`)."""
    eval_fps: float | None = None
    """Sampling rate of the `fps` grid."""
    max_frames: int | None = None
    """Cap on the `fps` grid over the whole video; when exceeded the frames are resampled evenly."""
    span_frames: SpanFrames = "pts"
    """Seconds to frames: `pts` compares the frames' times, `truncate` = int(s*fps) (STVG-R1), `round`."""
    default_fps: float = 25.0
    """Frame rate used when a row has none (STVG-R1's fallback)."""
    tiou_unit: Literal["seconds", "frames"] = "seconds"
    """tIoU over seconds or over the grid's frames."""
    comparison: Comparison = ">"
    """vIoU@R: `>` (TubeDETR, CG-STVG) or `>=` (STVG-R1)."""
    thresholds: tuple[float, ...] = (0.3, 0.5)
    """R values of vIoU@R."""
    interpolate_gap_frames: int | None = None
    """Largest gap between two known boxes of one object bridged by linear interpolation (ground truth and
    predicted tube alike); None: 2x the median step of the known frames."""
    interpolate_gt: bool = True
    """Interpolate the ground truth between annotated frames; False: a frame without an annotated box scores 0
    (STVG-R1)."""
    pred_box_end: Literal["exclusive", "last_pixel"] = "exclusive"
    """Predicted tube boxes as stored (x2/y2 exclusive) or as STVG-R1's mask boxes (x2 - 1, y2 - 1)."""
    rule: Rule = "toolkit"
    """Frame sets and formulas of tIoU/vIoU: this toolkit's (the grid above), or a source's own
    (vctrain.evaluation.source_rules: `stvg_r1`, `tubedetr`)."""


EVAL_CONVENTIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "stvg_r1": {"rule": "stvg_r1", "span_frames": "truncate", "comparison": ">=", "interpolate_gt": False,
                "pred_box_end": "last_pixel"},
    "tubedetr": {"rule": "tubedetr", "comparison": ">", "eval_fps": 5.0, "max_frames": 200},
    "time_r1": {},
    "visioncoach": {},
}  # fmt: skip
"""The STVGEvalConfig fields each source's evaluation sets (`eval.convention`); Time-R1's `>` for Charades-STA R@1
is `MOMENT_CONVENTIONS`."""
MOMENT_CONVENTIONS: dict[str, Comparison] = {"time_r1": ">"}
"""Charades-STA R@1 comparison per convention (default `>=`, Moment-DETR)."""


@dataclass(frozen=True)
class STVGResult:
    """Per-sample STVG metrics."""

    tiou: float
    viou: float
    parsed: bool
    id_correct: bool
    n_eval_frames: int = 0
    extra: dict[str, float] = field(default_factory=dict)


def _fps(row: Mapping[str, Any], cfg: STVGEvalConfig) -> float:
    try:
        value = float(row.get("video_fps"))  # type: ignore[arg-type]  # None or junk falls back below
    except (TypeError, ValueError):
        return cfg.default_fps
    return value if math.isfinite(value) and value > 0 else cfg.default_fps


def fps_grid(num_frames: int, video_fps: float, eval_fps: float, max_frames: int | None) -> list[int]:
    """Frame indices of the video resampled at `eval_fps`, evenly thinned to `max_frames` (this toolkit's grid;
    TubeDETR's is vctrain.evaluation.source_rules.tubedetr_frame_ids)."""
    if num_frames <= 0 or eval_fps <= 0:
        return []
    stride = video_fps / eval_fps
    grid = sorted({min(num_frames - 1, round(k * stride)) for k in range(int(math.ceil(num_frames / stride)))})
    if max_frames is not None and len(grid) > max_frames > 0:
        grid = [grid[round(i * (len(grid) - 1) / max(1, max_frames - 1))] for i in range(max_frames)]
    return grid


def eval_grid(row: Mapping[str, Any], cfg: STVGEvalConfig) -> list[int]:
    """The frame indices vIoU is computed on, per `cfg.grid`."""
    if cfg.grid == "annotated":
        return sorted({int(f) for f in _seq(row, "gt_frame_indices")})
    if cfg.grid == "fps":
        if cfg.eval_fps is None:
            raise ValueError("grid 'fps' needs eval_fps")
        fps = _fps(row, cfg)
        num_frames = int(round(float(row.get("video_duration_seconds") or 0.0) * fps))
        return fps_grid(num_frames, fps, cfg.eval_fps, cfg.max_frames)
    return sorted({int(f) for f in _seq(row, "tube_frame_indices")})


def frames_in_span(
    grid: Sequence[int], span_seconds: Sequence[float] | None, fps: float, mode: SpanFrames
) -> list[int]:
    """Grid frames inside a span in seconds (ends included). Reversed or missing spans hold no frames."""
    if span_seconds is None or span_seconds[1] < span_seconds[0]:
        return []
    start, end = float(span_seconds[0]), float(span_seconds[1])
    if mode == "pts":
        return [f for f in grid if start - 1e-9 <= f / fps <= end + 1e-9]
    to_frame = int if mode == "truncate" else round
    first, last = to_frame(start * fps), to_frame(end * fps)
    return [f for f in grid if first <= f <= last]


def _gap(boxes: Mapping[int, Box], cfg: STVGEvalConfig) -> int:
    if cfg.interpolate_gap_frames is not None:
        return cfg.interpolate_gap_frames
    known = sorted(boxes)
    steps = sorted(b - a for a, b in itertools.pairwise(known))
    return 2 * steps[len(steps) // 2] if steps else 0


def gt_boxes_of_row(row: Mapping[str, Any]) -> dict[int, Box]:
    """Annotated ground-truth boxes {frame_index: box} of a shard row; malformed boxes are skipped."""
    out: dict[int, Box] = {}
    for frame, box in zip(_seq(row, "gt_frame_indices"), _seq(row, "gt_boxes")):
        if box is not None and len(box) == 4:
            out[int(frame)] = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
    return out


def stvg_prediction_from_text(
    text: str, *, answer_tag: AnswerTag = "last", grammar: Grammar = "lenient"
) -> tuple[int | None, tuple[float, float] | None]:
    """(ID, span) of a generated STVG-R1 answer, read as the rewards read it; parts that do not parse are None."""
    parsed = parse_stvg_answer(answer_text(text, pick_answer_tag("stvg", answer_tag)), grammar=grammar)
    return parsed.target_id, parsed.span_seconds


def evaluate_stvg_row(
    row: Mapping[str, Any],
    pred_id: int | None,
    pred_span_seconds: Sequence[float] | None,
    cfg: STVGEvalConfig = STVGEvalConfig(),
) -> STVGResult:
    """tIoU and vIoU of one STVG-R1 prediction (an ID and a span) against a shard row, boxes taken from the tubes."""
    raw_span = _seq(row, "gt_span_seconds")
    gt_span = (float(raw_span[0]), float(raw_span[1])) if len(raw_span) == 2 else None
    fps = _fps(row, cfg)
    if cfg.rule != "toolkit":
        return _source_rule(row, pred_id, pred_span_seconds, gt_span, fps, cfg)
    grid = eval_grid(row, cfg)
    pred_frames = frames_in_span(grid, pred_span_seconds, fps, cfg.span_frames)
    gt_frames = frames_in_span(grid, gt_span, fps, cfg.span_frames)
    gt_known = gt_boxes_of_row(row)
    gt_gap = _gap(gt_known, cfg) if cfg.interpolate_gt else 0
    gt_boxes = interpolate_boxes(gt_known, gt_frames, max_gap_frames=gt_gap)
    pred_known = _pred_boxes(row, pred_id, cfg)
    pred_boxes = interpolate_boxes(pred_known, pred_frames, max_gap_frames=_gap(pred_known, cfg))
    if cfg.tiou_unit == "frames":
        p, g = set(pred_frames), set(gt_frames)
        t = len(p & g) / len(p | g) if p | g else 0.0
    else:
        t = temporal_iou(pred_span_seconds, gt_span)
    target = row.get("target_id")
    id_correct = pred_id is not None and target is not None and not _isnan(target) and int(pred_id) == int(target)
    return STVGResult(
        tiou=t,
        viou=viou(pred_frames, gt_frames, pred_boxes, gt_boxes),
        parsed=pred_id is not None and pred_span_seconds is not None,
        id_correct=id_correct,
        n_eval_frames=len(set(pred_frames) | set(gt_frames)),
    )


def _pred_boxes(row: Mapping[str, Any], pred_id: int | None, cfg: STVGEvalConfig) -> dict[int, Box]:
    boxes = tube_boxes_for_id(row, pred_id)
    if cfg.pred_box_end == "last_pixel":
        return {f: last_pixel_box(b) for f, b in boxes.items()}
    return boxes


def _objects_by_frame(row: Mapping[str, Any], cfg: STVGEvalConfig) -> dict[int, dict[int, Box]]:
    """Every tracked object's box per frame, {frame: {track_id: box}} in the row's order (the masks' order)."""
    out: dict[int, dict[int, Box]] = {}
    for frame, track, box in zip(_seq(row, "tube_frame_indices"), _seq(row, "tube_track_ids"), _seq(row, "tube_boxes")):
        if box is None or len(box) != 4:
            continue
        b = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
        out.setdefault(int(frame), {})[int(track)] = last_pixel_box(b) if cfg.pred_box_end == "last_pixel" else b
    return out


def _gt_xywh(gt_known: Mapping[int, Box]) -> tuple[int, list[tuple[float, float, float, float] | None]]:
    """The annotated boxes as HC-STVG's list: (first frame, [x, y, w, h] per frame or None where not annotated)."""
    if not gt_known:
        return 0, []
    first, last = min(gt_known), max(gt_known)
    out: list[tuple[float, float, float, float] | None] = []
    for f in range(first, last + 1):
        b = gt_known.get(f)
        out.append(None if b is None else (b[0], b[1], b[2] - b[0], b[3] - b[1]))
    return first, out


def _source_rule(
    row: Mapping[str, Any],
    pred_id: int | None,
    pred_span: Sequence[float] | None,
    gt_span: tuple[float, float] | None,
    fps: float,
    cfg: STVGEvalConfig,
) -> STVGResult:
    """tIoU and vIoU by a source's own rule (source_rules.py); unparsed answers score 0 (both sources)."""
    target = row.get("target_id")
    id_correct = pred_id is not None and target is not None and not _isnan(target) and int(pred_id) == int(target)
    parsed = pred_id is not None and pred_span is not None
    gt_known = gt_boxes_of_row(row)
    first, xywh = _gt_xywh(gt_known)
    if pred_span is None or gt_span is None or not parsed:
        return STVGResult(tiou=0.0, viou=0.0, parsed=parsed, id_correct=id_correct)
    if cfg.rule == "stvg_r1" and pred_id is not None:
        objects = _objects_by_frame(row, cfg)
        (gs, ge), (ps, pe) = stvg_r1_frames(gt_span, fps), stvg_r1_frames(pred_span, fps)
        chosen = stvg_r1_predicted_boxes(objects, int(pred_id), max(gs, ps), min(ge, pe))
        boxes = {f: b for f, b in chosen.items() if b is not None}
        v = stvg_r1_viou(pred_span, gt_span, fps, boxes, xywh, first, set(objects))
        return STVGResult(tiou=stvg_r1_tiou(pred_span, gt_span), viou=v, parsed=True, id_correct=id_correct)
    frame_count = int(round(float(row.get("video_duration_seconds") or 0.0) * fps))
    grid = tubedetr_frame_ids(frame_count, cfg.eval_fps or 5.0, cfg.max_frames or 200) if frame_count > 1 else []
    gt_sted = (first, first + len(xywh))
    # hcstvg_eval.py takes `video_pred["sted"]` as given and compares it with integer frame ids: a predicted
    # span in seconds becomes fractional frames, never rounded (rounding moved ends by up to half a frame)
    pred_sted = (pred_span[0] * fps, pred_span[1] * fps)
    filled = [b if b is not None else (0.0, 0.0, 0.0, 0.0) for b in xywh]
    pred_boxes = _pred_boxes(row, pred_id, cfg)
    t, v = tubedetr_sample(pred_sted, gt_sted, grid, filled, {f: [b] for f, b in pred_boxes.items()}, missing="zero")
    return STVGResult(tiou=t, viou=v, parsed=True, id_correct=id_correct, n_eval_frames=len(grid))


def _isnan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def summarize_stvg(results: Sequence[STVGResult], cfg: STVGEvalConfig = STVGEvalConfig()) -> dict[str, float]:
    """m_tIoU, m_vIoU, vIoU@R (fractions in [0, 1]) over all samples, unparsable ones included as 0."""
    out = {
        "n": float(len(results)),
        "m_tIoU": mean(r.tiou for r in results),
        "m_vIoU": mean(r.viou for r in results),
        "parsed": mean(float(r.parsed) for r in results),
        "id_accuracy": mean(float(r.id_correct) for r in results),
    }
    for threshold in cfg.thresholds:
        out[f"vIoU@{threshold:g}"] = mean(float(passes(r.viou, threshold, cfg.comparison)) for r in results)
    return out


# ---------------------------------------------------------------- Charades-STA
def moment_retrieval(
    preds: Sequence[Sequence[float] | None],
    gts: Sequence[Sequence[float]],
    *,
    thresholds: tuple[float, ...] = (0.3, 0.5, 0.7),
    comparison: Comparison = ">=",
) -> dict[str, float]:
    """Charades-STA: R@1 at each IoU threshold and mIoU (fractions). Missing predictions count as IoU 0."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions but {len(gts)} ground truths")
    ious = [temporal_iou(p, g) for p, g in zip(preds, gts)]
    out = {"n": float(len(ious)), "mIoU": mean(ious)}
    for threshold in thresholds:
        out[f"R1@{threshold:g}"] = mean(float(passes(i, threshold, comparison)) for i in ious)
    return out


# ---------------------------------------------------------------- V-STaR
def vstar_where(
    pred_boxes: Mapping[float, Box], gt_boxes: Mapping[float, Box], *, time_tolerance_seconds: float = 1e-6
) -> float:
    """Mean IoU over the ground-truth timestamps of the box predicted for that timestamp (0 when missing)."""
    if not gt_boxes:
        return 0.0
    total = 0.0
    for t, gt_box in gt_boxes.items():
        match = [b for pt, b in pred_boxes.items() if abs(pt - t) <= time_tolerance_seconds]
        total += box_iou(match[0], gt_box) if match else 0.0
    return total / len(gt_boxes)


def vstar_when(preds: Sequence[Sequence[float] | None], gts: Sequence[Sequence[float]]) -> float:
    """Mean tIoU over samples (missing or reversed predictions count as 0)."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions but {len(gts)} ground truths")
    return mean(temporal_iou(p, g) for p, g in zip(preds, gts))


def vstar_what(judge_scores: Sequence[float], *, threshold: float = 2.0) -> float:
    """Fraction of answers whose judge score is >= threshold (V-STaR: >= 2)."""
    return mean(float(s >= threshold) for s in judge_scores)


def vstar_am_lgm(what: float, when: float, where: float) -> dict[str, float]:
    """AM = mean of What, When, Where; LGM = -(1/3) sum log(1 - x), each x clipped below 1 so LGM stays finite."""
    clipped = [min(max(v, 0.0), 1.0 - 1e-6) for v in (what, when, where)]
    return {"AM": (what + when + where) / 3, "LGM": -sum(math.log(1.0 - v) for v in clipped) / 3}
