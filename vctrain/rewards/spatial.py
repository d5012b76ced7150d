"""VisionCoach's object-aware spatial reward on the grounded claims of the reasoning
(`<obj>name</obj><box>[x1,y1,x2,y2]</box>at<t>sec</t>s`).

Per claim `<obj>name</obj><box>..</box>at<t>T</t>s`: the temporal gate keeps key frames with |T - t*| <= gate; a
ground-truth object of a gated key frame is scored when its name matches the claim's (`identity_match`), with the
multi-region IoU (for each ground-truth box, the max IoU over the claim's boxes, averaged over the ground-truth
boxes); the claim takes the max (`iou_mode="max"`) or the mean (`"avg"`) over the scored objects. The reward is the
sum over claims divided by the number of claims (`norm_mode="all"`) or of claims that scored an object
(`"matched"`). Visual-QA rows score the reasoning's boxes against the answer's box instead; temporal and general QA
rows score 0 (as the source).

Default (sound) choices, each a switch, and `convention="visioncoach"` sets the source's:
- `identity_match="word"`: content words as a contiguous run ("man" ~ "man in red", never "woman"; an empty name
  matches nothing). The source's trainer default is `none` (any object of the frame is scored whatever the claim
  names); `soft` is its substring / shared-word match, `strict` its equality after lower-casing and stripping.
- `frame_choice="nearest_matching"`: the nearest gated key frame *that holds a matching object*; the source uses the
  nearest gated key frame only (`"nearest"`), even if the object is elsewhere.
- `gate_tolerance_seconds=1e-6`, so 2.0 vs 3.0 and 1.2 vs 2.2 both pass (the source decides on float rounding:
  tolerance 0); `two_sided_gate=False` is Open-o3's one-sided test `t* - T < gate`.
- `claims="lenient"`: spacing such as `at <t>` is accepted, claims with unparsable boxes or times score 0 and stay
  in the denominator; `"visioncoach"` reads the source's exact pattern and drops such claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from vctrain.data.groundtruth import Box, GroundTruth, KeyFrame
from vctrain.rewards.boxes import as_box, reasoning_box_iou
from vctrain.rewards.conventions import resolve_options
from vctrain.rewards.geometry import box_iou
from vctrain.rewards.parse import answer_text, parse_claims, parse_claims_visioncoach, think_text
from vctrain.rewards.tasks import GENERAL_TASKS, IMAGE_TASKS, TEMPORAL_TASKS

NameMatch = Literal["word", "soft", "strict", "exact", "none"]
BoxUnits = Literal["frame_px", "normalized", "normalized_1000"]
GATE_TOLERANCE_SECONDS = 1e-6
"""Default slack on the temporal gate so that decimal times on its boundary pass whatever their binary rounding."""

_STOPWORDS = frozenset({"a", "an", "the", "this", "that", "of", "in", "on", "at", "with", "and", "to", "is"})


@dataclass(frozen=True)
class SpatialOptions:
    """Every behaviour of the spatial reward that a source decides (module docstring)."""

    identity_match: NameMatch = "word"
    """`word` (default), `soft`, `strict` (`exact` is an alias) or `none` (VisionCoach's trainer default)."""
    iou_mode: Literal["max", "avg"] = "max"
    """A claim's score over the objects it is scored against: the max or the mean (VisionCoach spatial_iou_mode)."""
    norm_mode: Literal["all", "matched"] = "all"
    """Divide by all claims or by the claims that scored an object, at least 1 (VisionCoach spatial_norm_mode)."""
    gate_seconds: float = 1.0
    """Temporal gate width (seconds) between a claim's time and a key frame's time."""
    gate_tolerance_seconds: float = GATE_TOLERANCE_SECONDS
    """Slack added to the gate (0 in the source)."""
    two_sided_gate: bool = True
    """|t* - T| <= gate; False: t* - T < gate (VisionCoach correct_tempgate=False, Open-o3)."""
    frame_choice: Literal["nearest_matching", "nearest"] = "nearest_matching"
    """Which gated key frame scores a claim (module docstring)."""
    claims: Literal["lenient", "visioncoach"] = "lenient"
    """Claim grammar and what happens to malformed claims (module docstring)."""
    box_units: BoxUnits = "frame_px"
    """Units of the predicted boxes: stored-frame pixels, [0, 1] or [0, 1000] of the frame."""


SPATIAL_CONVENTIONS: dict[str, SpatialOptions] = {
    "default": SpatialOptions(),
    "visioncoach": SpatialOptions(
        identity_match="none", gate_tolerance_seconds=0.0, frame_choice="nearest", claims="visioncoach"
    ),
}

SKIPPED_TASKS = TEMPORAL_TASKS | GENERAL_TASKS
"""thk_spatial_reward pays 0 on temporal QA (and MCQ) and general video QA rows."""


def _words(name: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in _STOPWORDS]


def names_match(predicted: str, reference: str, mode: NameMatch = "word") -> bool:
    """Whether a claimed name refers to a ground-truth object name.

    `word`: the content words (stopwords dropped) of one name appear as a contiguous run of the other's; never
    "man" ~ "woman", never an empty name. `strict`/`exact`: equal after lower-casing and stripping, as written
    ("the man" != "man"). `soft` (VisionCoach): equal, or one a substring of the other ("man" ~ "woman", "" ~
    anything), or a shared whitespace-separated word ("the man" ~ "the dog"). `none`: always.
    """
    if mode == "none":
        return True
    pred, ref = predicted.lower().strip(), reference.lower().strip()
    if mode in ("strict", "exact"):
        return pred == ref
    if mode == "soft":
        return pred == ref or pred in ref or ref in pred or bool(set(pred.split()) & set(ref.split()))
    a, b = _words(predicted), _words(reference)
    if not a or not b:
        return False
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))


def multi_region_iou(pred_boxes: tuple[Box | None, ...], gt_boxes: tuple[Box, ...]) -> float:
    """For each ground-truth box the best IoU over the predicted boxes, averaged over the ground-truth boxes
    (a predicted box that is None scores 0)."""
    if not gt_boxes or not pred_boxes:
        return 0.0
    return sum(max(box_iou(p, g) for p in pred_boxes) for g in gt_boxes) / len(gt_boxes)


def _scale(boxes: tuple[Box | None, ...], units: BoxUnits, gt: GroundTruth) -> tuple[Box | None, ...]:
    if units == "frame_px":
        return boxes
    if gt.frame_size is None:
        raise ValueError("normalised predicted boxes need GroundTruth.frame_size")
    width, height = gt.frame_size
    div = 1.0 if units == "normalized" else 1000.0
    return tuple(
        None if b is None else (b[0] * width / div, b[1] * height / div, b[2] * width / div, b[3] * height / div)
        for b in boxes
    )


def _gated_frames(time_seconds: float, gt: GroundTruth, opts: SpatialOptions) -> list[KeyFrame]:
    """Key frames passing the gate, nearest first (ties keep the key frames' order, as the source's strict `<`)."""
    limit = opts.gate_seconds + opts.gate_tolerance_seconds
    if opts.two_sided_gate:
        passing = [f for f in gt.key_frames if abs(f.time_seconds - time_seconds) <= limit]
    else:
        passing = [f for f in gt.key_frames if f.time_seconds - time_seconds < limit]
    ordered = sorted(passing, key=lambda f: abs(f.time_seconds - time_seconds))
    return ordered[:1] if opts.frame_choice == "nearest" else ordered


def claim_score(
    name: str, boxes: tuple[Box | None, ...], time_seconds: float, gt: GroundTruth, opts: SpatialOptions
) -> tuple[float, bool, bool]:
    """(score, passed the gate, scored an object) of one well-formed claim."""
    gated = _gated_frames(time_seconds, gt, opts)
    if not boxes:  # the source fails on a claim without a readable box literal and scores no object
        return 0.0, bool(gated), False
    boxes = _scale(boxes, opts.box_units, gt)
    for frame in gated:
        objects = [b for n, b in frame.objects.items() if names_match(name, n, opts.identity_match)]
        ious = [multi_region_iou(boxes, b) for b in objects]
        if ious:
            return (max(ious) if opts.iou_mode == "max" else sum(ious) / len(ious)), True, True
    return 0.0, bool(gated), False


def spatial(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    convention: str = "default",
    gate_seconds: float | None = None,
    gate_tolerance_seconds: float | None = None,
    two_sided_gate: bool | None = None,
    name_match: NameMatch | None = None,
    iou_mode: Literal["max", "avg"] | None = None,
    norm_mode: Literal["all", "matched"] | None = None,
    frame_choice: Literal["nearest_matching", "nearest"] | None = None,
    claims: Literal["lenient", "visioncoach"] | None = None,
    box_units: BoxUnits | None = None,
) -> dict[str, float]:
    """Claim-level spatial reward (module docstring); 0 without `<think>` and `<answer>` or without claims."""
    opts = resolve_options(
        SPATIAL_CONVENTIONS, convention, gate_seconds=gate_seconds, gate_tolerance_seconds=gate_tolerance_seconds,
        two_sided_gate=two_sided_gate, identity_match=name_match, iou_mode=iou_mode, norm_mode=norm_mode,
        frame_choice=frame_choice, claims=claims, box_units=box_units,
    )  # fmt: skip
    empty = {"score": 0.0, "n_claims": 0.0, "gated": 0.0, "matched": 0.0}
    think = think_text(completion)
    if think is None or answer_text(completion, "first") is None or gt.task in SKIPPED_TASKS:
        return empty
    if gt.task in IMAGE_TASKS:
        return empty | {"score": reasoning_box_iou(think, gt)}
    results: list[tuple[float, bool, bool]] = []
    if opts.claims == "visioncoach":
        for source_claim in parse_claims_visioncoach(think):
            boxes = tuple(as_box(b) for b in source_claim.boxes)
            results.append(claim_score(source_claim.name, boxes, source_claim.time_seconds, gt, opts))
    else:
        for c in parse_claims(think):
            if c.valid and c.boxes is not None and c.time_seconds is not None:
                results.append(claim_score(c.name, c.boxes, c.time_seconds, gt, opts))
            else:
                results.append((0.0, False, False))
    if not results:
        return empty
    n, matched = len(results), sum(r[2] for r in results)
    denominator = n if opts.norm_mode == "all" else max(1, matched)
    return {
        "score": sum(r[0] for r in results) / denominator,
        "n_claims": float(n),
        "gated": sum(r[1] for r in results) / n,
        "matched": matched / n,
    }
