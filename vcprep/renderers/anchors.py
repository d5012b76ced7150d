"""Where a tag sits on an object: STVG-R1's mask centre, or Set-of-Mark's most interior point.

Both look only inside the object's box (plus a margin) rather than the whole frame: the masks are
full-frame, and scanning eight of them per frame would cost more than all the drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from vcprep.renderers.extents import mask_extents

_INTERIOR_GRID_PX = 24
"""Set-of-Mark anchors are searched on the object's crop sampled to about this many pixels."""


def _box_part(mask: np.ndarray, xyxy: Sequence[float], margin_px: int = 2) -> tuple[np.ndarray, int, int]:
    """The part of `mask` under the box (with a margin) and its offset. Pass the box as Python floats
    (`xyxy.tolist()`): rounding numpy scalars one by one costs more than the crop's work."""
    H, W = mask.shape[:2]
    x1, y1, x2, y2 = xyxy
    xa, ya = max(0, math.floor(x1) - margin_px), max(0, math.floor(y1) - margin_px)
    xb, yb = min(W, math.ceil(x2) + margin_px), min(H, math.ceil(y2) + margin_px)
    return mask[ya : max(ya, yb), xa : max(xa, xb)], xa, ya


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
    mask_boxes, _ = mask_extents(mask[None], np.asarray([xyxy], np.float32))
    return interior_points([mask], mask_boxes.tolist(), [xyxy])[0]


def interior_points(
    masks: Sequence[np.ndarray], mask_boxes: Sequence[Sequence[int]], boxes: Sequence[Sequence[float]]
) -> list[tuple[int, int]]:
    """`mask_interior_point` of every object of a frame, given each mask's tight box (see `extents`);
    an empty mask gets its object's box centre.

    A tag is tens of pixels wide, so the interior is searched on each mask's box sampled to about
    `_INTERIOR_GRID_PX` (a thin side keeps at least ~4 samples across). The sampled crops go side by
    side into one zero buffer, a zero pixel around each (so the frame's edge counts as boundary too),
    and one distance transform serves them all: its cost is mostly per call and per row.
    """
    out = [box_centre(xyxy) for xyxy in boxes]
    slots = []  # (k, sampled crop, its height, width, shrink, x offset, y offset)
    height = width = 0  # of the buffer that holds the sampled crops
    for k, (mask, (x0, y0, x1, y1)) in enumerate(zip(masks, mask_boxes)):
        h, w = y1 - y0, x1 - x0
        if h <= 0 or w <= 0:  # an empty mask
            continue
        shrink = max(1, min((h if h > w else w) // _INTERIOR_GRID_PX, (w if h > w else h) // 4))
        small = mask[y0:y1:shrink, x0:x1:shrink]
        h, w = small.shape
        slots.append((k, small, h, w, shrink, x0, y0))
        height, width = max(height, h), width + w + 1
    if not slots:
        return out
    buf = np.zeros((height + 2, width + 1), np.uint8)
    x = 1
    for _, small, h, w, *_ in slots:
        buf[1 : 1 + h, x : x + w] = small
        x += w + 1
    dist = cv2.distanceTransform(buf, cv2.DIST_L2, cv2.DIST_MASK_3)
    x = 1
    for k, _, h, w, shrink, ox, oy in slots:
        _, top, _, (px, py) = cv2.minMaxLoc(dist[1 : 1 + h, x : x + w])
        x += w + 1
        if top <= 0:  # no sample landed on the mask: a sliver between the samples
            x0, y0, x1, y1 = mask_boxes[k]
            out[k] = _interior_at_full_resolution(masks[k][y0:y1, x0:x1], ox, oy)
        else:  # a sampled mask pixel, so surely inside
            out[k] = px * shrink + ox, py * shrink + oy
    return out


def _interior_at_full_resolution(tight: np.ndarray, ox: int, oy: int) -> tuple[int, int]:
    """The exact distance-transform maximum of a mask cut to its bounding box, found at (ox, oy) (the
    rare slow path)."""
    padded = cv2.copyMakeBorder(tight.view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    _, _, _, (x, y) = cv2.minMaxLoc(cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_3))
    return x - 1 + ox, y - 1 + oy
