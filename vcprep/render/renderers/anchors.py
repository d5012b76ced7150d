"""Where a tag sits on an object: STVG-R1's mask centre, or Set-of-Mark's most interior point.

Both look only inside each mask's tight box (see `extents`) rather than the whole frame: the masks
are full-frame, and scanning eight of them per frame would cost more than all the drawing.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vcprep.render.renderers.extents import mask_extents
from vcprep.render.renderers.kernels import mask_centres as mask_centres_kernel
from vcprep.render.renderers.kernels import use_numba

_INTERIOR_GRID_PX = 24
"""Set-of-Mark anchors are searched on the object's crop sampled to about this many pixels."""


def box_centre(xyxy: Sequence[float]) -> tuple[int, int]:
    x1, y1, x2, y2 = xyxy
    return int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2))


def mask_centre(mask: np.ndarray | None, xyxy: Sequence[float]) -> tuple[int, int]:
    """STVG-R1's anchor: the mask's middle row, mean x of the mask pixels on that row; box centre without a mask."""
    if mask is None:
        return box_centre(xyxy)
    mask_boxes, _ = mask_extents(mask[None], np.asarray([xyxy], np.float32))
    return mask_centres(mask[None], mask_boxes.tolist(), [xyxy], engine="opencv")[0]


def mask_centres(
    masks: np.ndarray, mask_boxes: Sequence[Sequence[int]], boxes: Sequence[Sequence[float]], *, engine: str = "auto"
) -> list[tuple[int, int]]:
    """`mask_centre` of every object of a frame, given each mask's tight box (see `extents`); an empty
    mask gets its object's box centre. `engine` (see `kernels`): numba finds all in one compiled call,
    scanning each row of a mask only up to its first pixel; OpenCV takes three calls an object."""
    if use_numba(engine) and len(boxes):
        found = np.empty((len(boxes), 2), np.int64)
        mask_centres_kernel()(masks, np.asarray(mask_boxes, np.int64).reshape(-1, 4), found)
        return [box_centre(xyxy) if x < 0 else (x, y) for (x, y), xyxy in zip(found.tolist(), boxes)]
    return [_centre_in_box(mask, box, xyxy) for mask, box, xyxy in zip(masks, mask_boxes, boxes)]


def _centre_in_box(mask: np.ndarray, mask_box: Sequence[int], xyxy: Sequence[float]) -> tuple[int, int]:
    """`mask_centre` within the mask's tight box: which rows hold pixels from a row-wise maximum (all of
    them, for a mask without gaps across its rows), the mean x from the chosen row's first moment."""
    x0, y0, x1, y1 = mask_box
    if x1 <= x0 or y1 <= y0:
        return box_centre(xyxy)
    part = mask[y0:y1, x0:x1].view(np.uint8)
    held = cv2.reduce(part, 1, cv2.REDUCE_MAX)  # [h, 1]: 1 on the rows that hold mask pixels
    rows = cv2.countNonZero(held)
    y = (y1 - y0) // 2 if rows == y1 - y0 else int(np.flatnonzero(held[:, 0])[rows // 2])
    moments = cv2.moments(part[y : y + 1], binaryImage=True)
    return int(round(moments["m10"] / moments["m00"])) + x0, y + y0


def stvg_r1_anchor(mask: np.ndarray) -> tuple[int, int] | None:
    """STVG-R1's own anchor, as its `preprocess/mask2marker.py` computes it (`get_mask_center`):
    the row halfway between the mask's first and last row, truncated (`int((ymin + ymax) / 2)`,
    last row inclusive); the mean x of the mask pixels on that row, truncated; where that row holds
    no pixel (a mask split by an occlusion), the middle of the x extent, truncated. None for an
    empty mask (STVG-R1 then draws nothing).

    It differs from `mask_centre` by a row on masks of even height, by the rounding of x, and on
    split masks (`mask_centre` takes the middle of the rows that hold pixels); `IdTags(placement=
    "stvg_r1")` uses it so that rendered data matches what STVG-R1's model was trained on.
    """
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    cy = int((int(ys.min()) + int(ys.max())) / 2)
    on_row = xs[ys == cy]
    cx = int((int(xs.min()) + int(xs.max())) / 2) if on_row.size == 0 else int(on_row.mean())
    return cx, cy


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
