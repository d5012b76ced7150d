"""Interval and box overlap, shared by rewards and metrics. Degenerate inputs give 0, never NaN or an exception."""

from __future__ import annotations

import math
from collections.abc import Sequence


def interval_iou(pred: Sequence[float], gt: Sequence[float]) -> float:
    """|[s,e] ∩ [s*,e*]| / |[s,e] ∪ [s*,e*]| over continuous time.

    A reversed interval (e < s) scores 0, and so does a zero-length union (both intervals one and the same instant):
    the sources divide by zero there and either drop the sample or reuse the previous one's value
    (data_cards/CONVENTIONS.md).
    """
    s, e = float(pred[0]), float(pred[1])
    gs, ge = float(gt[0]), float(gt[1])
    if not all(math.isfinite(x) for x in (s, e, gs, ge)) or e < s or ge < gs:
        return 0.0
    inter = max(0.0, min(e, ge) - max(s, gs))
    union = max(e, ge) - min(s, gs)
    return inter / union if union > 0 else 0.0


def box_area(box: Sequence[float]) -> float:
    """Area of an xyxy box; 0 for zero-area or inverted boxes."""
    return max(0.0, float(box[2]) - float(box[0])) * max(0.0, float(box[3]) - float(box[1]))


def box_iou(a: Sequence[float] | None, b: Sequence[float] | None) -> float:
    """IoU of two xyxy boxes (x2/y2 exclusive). Missing, malformed, zero-area or non-finite boxes give 0, not NaN."""
    if a is None or b is None or len(a) != 4 or len(b) != 4:
        return 0.0
    try:
        ax1, ay1, ax2, ay2 = (float(v) for v in a)
        bx1, by1, bx2, by2 = (float(v) for v in b)
    except (TypeError, ValueError):
        return 0.0
    if not all(math.isfinite(v) for v in (ax1, ay1, ax2, ay2, bx1, by1, bx2, by2)):
        return 0.0
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = box_area((ax1, ay1, ax2, ay2)) + box_area((bx1, by1, bx2, by2)) - inter
    return inter / union if union > 0 else 0.0
