"""Where each object's mask lies and how large it is: computed once per frame, read by every renderer.

Masks are full-frame, but an object covers a few percent of it: the mask renderers and both tag styles
work only on each mask's bounding box, and Set-of-Mark draws the largest masks first. Mask
preparation (`masks_for_clip`) knows them exactly, for nothing, from the crop it warps; it stores them
in the clip (`Clip.mask_boxes`, `Clip.mask_areas`), so the renderers of all a sample's variants share
one computation instead of each counting every mask again. Objects that come without them (an
`sv.Detections`, a clip built by hand) get them from `mask_extents`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

_MARGIN_PX = 2
"""`mask_extents` looks for a mask within its object's box plus this margin."""


def pixel_box(xyxy: Sequence[float], shape: tuple[int, ...], margin_px: int = 0) -> tuple[int, int, int, int]:
    """A box in whole pixels (x0, y0, x1, y1, ends exclusive): its floor/ceil grown by `margin_px`,
    clipped to a frame of `shape`; empty (x1 <= x0 or y1 <= y0) when it lies outside. Pass Python
    floats (`xyxy.tolist()`): rounding numpy scalars one by one costs more than the crops' work."""
    H, W = shape[:2]
    x1, y1, x2, y2 = xyxy
    return (
        max(0, math.floor(x1) - margin_px),
        max(0, math.floor(y1) - margin_px),
        min(W, math.ceil(x2) + margin_px),
        min(H, math.ceil(y2) + margin_px),
    )


def mask_extent(mask: np.ndarray, ox: int = 0, oy: int = 0) -> tuple[tuple[int, int, int, int], int]:
    """((x0, y0, x1, y1), pixels) of a uint8/bool mask found at (ox, oy): the bounding box of its
    nonzero pixels (ends exclusive), offset by (ox, oy); ((0, 0, 0, 0), 0) for an empty mask."""
    m = mask.view(np.uint8)
    x, y, w, h = cv2.boundingRect(m)
    if not w:
        return (0, 0, 0, 0), 0
    return (x + ox, y + oy, x + w + ox, y + h + oy), cv2.countNonZero(m[y : y + h, x : x + w])


def mask_extents(masks: np.ndarray, xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[K, 4] int32 tight boxes (x0, y0, x1, y1, ends exclusive; zeros for an empty mask) and [K]
    int64 pixel counts of [K, H, W] masks.

    Each mask is searched within its object's box plus `_MARGIN_PX` (a mask is taken to lie there,
    as masks whose boxes were derived from them do); a mask found nowhere there is searched whole.
    """
    boxes = np.zeros((len(xyxy), 4), np.int32)
    areas = np.zeros(len(xyxy), np.int64)
    if not len(xyxy):
        return boxes, areas
    for k, box in enumerate(np.asarray(xyxy, np.float64).tolist()):
        xa, ya, xb, yb = pixel_box(box, masks.shape[1:3], _MARGIN_PX)
        box, area = mask_extent(masks[k, ya : max(ya, yb), xa : max(xa, xb)], xa, ya)
        if not area:  # a mask off its box, or empty
            box, area = mask_extent(masks[k])
        boxes[k], areas[k] = box, area
    return boxes, areas


def extents_of(detections: Any) -> tuple[list[list[int]], list[int]]:
    """The mask boxes and areas of `detections` (an `Objects`, or anything with `mask` and `xyxy`) as
    Python lists: those it carries, else `mask_extents`. Only for objects with masks."""
    boxes, areas = getattr(detections, "mask_box", None), getattr(detections, "mask_area", None)
    if boxes is None or areas is None:
        boxes, areas = mask_extents(detections.mask, detections.xyxy)
    return np.asarray(boxes).tolist(), np.asarray(areas).tolist()
