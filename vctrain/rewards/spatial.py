"""VisionCoach's object-aware spatial reward on the grounded claims of the reasoning (SPEC section 4).

Per claim `<obj>name</obj><box>..</box>at<t>T</t>s`: the temporal gate keeps key frames with |T - t*| <= gate
(plus a small tolerance, so 2.0 vs 3.0 and 1.2 vs 2.2 both pass; the source passes or fails them on float rounding);
among them, the nearest frame holding an object whose name matches the claim's is used; the claim scores the
multi-region IoU with that object (for each ground-truth box, the max IoU over the claim's boxes, averaged over the
ground-truth boxes; the best object when several names match). The reward is the mean over *all* claims: claims
outside the gate, with unmatched names, or with unparsable boxes or times score 0 and stay in the denominator.

Name matching is word-level, never raw substring: "man" matches "man in red" and "the man", not "woman"; an
empty name matches nothing.
"""

from __future__ import annotations

import re
from typing import Literal

from vctrain.groundtruth import Box, GroundTruth, KeyFrame
from vctrain.rewards.geometry import box_iou
from vctrain.rewards.parse import Claim, parse_claims, think_text

NameMatch = Literal["word", "exact"]
BoxUnits = Literal["frame_px", "normalized", "normalized_1000"]
GATE_TOLERANCE_SECONDS = 1e-6
"""Slack on the temporal gate so that decimal times on its boundary pass whatever their binary rounding."""

_STOPWORDS = frozenset({"a", "an", "the", "this", "that", "of", "in", "on", "at", "with", "and", "to", "is"})


def _words(name: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in _STOPWORDS]


def names_match(predicted: str, reference: str, mode: NameMatch = "word") -> bool:
    """Equal after normalising case and spacing, or (mode "word") one name's content words appear as a contiguous
    run of the other's: "man" ~ "man in red", "red car" ~ "the red car"; never "man" ~ "woman"."""
    a, b = _words(predicted), _words(reference)
    if not a or not b:
        return False
    if a == b:
        return True
    if mode == "exact":
        return False
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))


def multi_region_iou(pred_boxes: tuple[Box, ...], gt_boxes: tuple[Box, ...]) -> float:
    """For each ground-truth box the best IoU over the predicted boxes, averaged over the ground-truth boxes."""
    if not gt_boxes or not pred_boxes:
        return 0.0
    return sum(max(box_iou(p, g) for p in pred_boxes) for g in gt_boxes) / len(gt_boxes)


def _scale(boxes: tuple[Box, ...], units: BoxUnits, gt: GroundTruth) -> tuple[Box, ...]:
    if units == "frame_px":
        return boxes
    if gt.frame_size is None:
        raise ValueError("normalised predicted boxes need GroundTruth.frame_size")
    width, height = gt.frame_size
    div = 1.0 if units == "normalized" else 1000.0
    return tuple((b[0] * width / div, b[1] * height / div, b[2] * width / div, b[3] * height / div) for b in boxes)


def claim_score(
    claim: Claim, gt: GroundTruth, *, gate_seconds: float, name_match: NameMatch, box_units: BoxUnits
) -> tuple[float, bool, bool]:
    """(score, passed the gate, matched a name) of one claim."""
    if not claim.valid or claim.boxes is None or claim.time_seconds is None:
        return 0.0, False, False
    t = claim.time_seconds
    gated: list[KeyFrame] = sorted(
        (f for f in gt.key_frames if abs(f.time_seconds - t) <= gate_seconds + GATE_TOLERANCE_SECONDS),
        key=lambda f: abs(f.time_seconds - t),
    )
    boxes = _scale(claim.boxes, box_units, gt)
    for frame in gated:
        objects = frame.objects.items()
        scores = [multi_region_iou(boxes, b) for n, b in objects if names_match(claim.name, n, name_match)]
        if scores:
            return max(scores), True, True
    return 0.0, bool(gated), False


def spatial(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    gate_seconds: float = 1.0,
    name_match: NameMatch = "word",
    box_units: BoxUnits = "frame_px",
) -> dict[str, float]:
    """Mean claim score over all claims in `<think>` (see the module docstring); 0 without claims."""
    think = think_text(completion)
    claims = parse_claims(think) if think is not None else []
    if not claims:
        return {"score": 0.0, "n_claims": 0.0, "gated": 0.0, "matched": 0.0}
    results = [
        claim_score(c, gt, gate_seconds=gate_seconds, name_match=name_match, box_units=box_units) for c in claims
    ]
    n = len(claims)
    return {
        "score": sum(r[0] for r in results) / n,
        "n_claims": float(n),
        "gated": sum(r[1] for r in results) / n,
        "matched": sum(r[2] for r in results) / n,
    }
