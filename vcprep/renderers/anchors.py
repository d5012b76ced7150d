"""Where a tag sits on an object: STVG-R1's mask centre, or Set-of-Mark's most interior point.

Both look only inside the object's box (plus a margin) rather than the whole frame: the masks are
full-frame, and scanning eight of them per frame would cost more than all the drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np


def _box_part(mask: np.ndarray, xyxy: Sequence[float], margin_px: int = 2) -> tuple[np.ndarray, int, int]:
    """The part of `mask` under the box (with a margin) and its offset. Pass the box as Python floats
    (`xyxy.tolist()`): rounding numpy scalars one by one costs more than the crop's work."""
    H, W = mask.shape[:2]
    x1, y1, x2, y2 = xyxy
    xa, ya = max(0, math.floor(x1) - margin_px), max(0, math.floor(y1) - margin_px)
    xb, yb = min(W, math.ceil(x2) + margin_px), min(H, math.ceil(y2) + margin_px)
    return mask[ya : max(ya, yb), xa : max(xa, xb)], xa, ya


def _crop(mask: np.ndarray, xyxy: Sequence[float], margin_px: int = 2) -> tuple[np.ndarray, int, int]:
    """The part of `mask` under the box (with a margin); falls back to the whole mask when that part is empty."""
    part, xa, ya = _box_part(mask, xyxy, margin_px)
    if part.size and part.any():
        return part, xa, ya
    return mask, 0, 0


def box_centre(xyxy: Sequence[float]) -> tuple[int, int]:
    x1, y1, x2, y2 = xyxy
    return int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2))


def mask_centre(mask: np.ndarray | None, xyxy: Sequence[float]) -> tuple[int, int]:
    """STVG-R1's anchor: the mask's middle row, mean x of the mask pixels on that row; box centre without a mask."""
    if mask is None:
        return box_centre(xyxy)
    # few numpy calls on a small crop: their fixed cost, not the pixels, is what this spends
    part, ox, oy = _box_part(mask, xyxy)
    rows = np.flatnonzero(part.any(axis=1)) if part.size else part
    if not len(rows):
        part, ox, oy = mask, 0, 0
        rows = np.flatnonzero(part.any(axis=1))
        if not len(rows):
            return box_centre(xyxy)
    y = int(rows[len(rows) // 2])
    xs = np.flatnonzero(part[y])
    return int(round(float(xs.sum()) / len(xs))) + ox, y + oy


def mask_interior_point(mask: np.ndarray | None, xyxy: Sequence[float]) -> tuple[int, int]:
    """Set-of-Mark's anchor: the point of the mask farthest from its boundary (distance-transform maximum).

    Unlike the centre, it lies inside the object even for C- or L-shaped masks. Without a mask the
    box is the mask, whose interior maximum is its centre.
    """
    if mask is None:
        return box_centre(xyxy)
    part, ox, oy = _crop(mask, xyxy)
    if not part.any():
        return box_centre(xyxy)
    # a tag is tens of pixels wide: finding the interior on a crop shrunk to <= 48 px is as good and 4x cheaper
    shrink = max(1, max(part.shape) // 48)
    small = part[::shrink, ::shrink].view(np.uint8)
    # a zero border makes the frame edge count as boundary too
    padded = cv2.copyMakeBorder(small, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_3)
    _, _, _, (x, y) = cv2.minMaxLoc(dist)
    return (x - 1) * shrink + ox, (y - 1) * shrink + oy  # a sampled mask pixel, so surely inside


def mask_area(mask: np.ndarray | None, xyxy: Sequence[float]) -> float:
    """Pixels of the mask (box area without a mask); SoM draws the largest first so small tags end on top."""
    if mask is None:
        x1, y1, x2, y2 = xyxy
        return float(max(0.0, x2 - x1) * max(0.0, y2 - y1))
    area = np.count_nonzero(_box_part(mask, xyxy)[0])
    return float(area if area else np.count_nonzero(mask))  # a mask off its box: count it all
