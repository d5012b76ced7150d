"""Translucent masks with outlines: each object's mask filled in its palette colour."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from vcprep.render.renderers.base import FrameRenderer, Objects
from vcprep.render.renderers.extents import extents_of, pixel_box
from vcprep.render.renderers.kernels import check_engine, fill_and_outline, use_numba
from vcprep.render.renderers.palette import colour_tile, palette_color
from vcprep.render.renderers.shapes import line_px

Cut = tuple[bool, bool, bool, bool]
"""Which edges of a crop the frame's edge cuts: top, bottom, left, right."""

_UNCUT: Cut = (False, False, False, False)


class Masks(FrameRenderer):
    """Each object's mask filled in its palette colour at `opacity` (out = (1-a)*img + a*colour inside
    the mask), with an optional outline. Without masks (a box tracker) the box is the mask.

    Work is confined to each mask's bounding box (see `extents`; plus the outline's reach): full-frame
    passes per object would cost 8x a frame. The outline is the mask dilated by t//2 px minus the mask
    eroded by (t+1)//2 px, a band `t` px wide on the mask's edge: for t = 1 exactly the border pixels a
    traced contour covers, for wider lines nearly the band a `t`-px stroke along the contour covers
    (OpenCV's 2-px stroke is ~1 px wider on diagonals), at a third of the cost of tracing and stroking
    it (thick strokes are round-capped segments, one per contour vertex). The morphology of all
    objects of a frame runs in one call, their crops side by side (see `side_by_side`).

    `engine`: `numba` blends and outlines every object of a frame in one compiled pass over their
    crops (see `kernels`); `opencv` makes three OpenCV calls an object (blend, masked copy, outline
    copy), which at 640x360 cost more than the pixels; `auto` takes numba where it is installed. Both
    give the same pixels.
    """

    name = "masks"
    hint = "Each object in the video is covered by a translucent colour that identifies it."

    def __init__(
        self,
        *,
        opacity: float = 0.5,
        outline: bool = True,
        thickness: int | None = None,
        antialias: bool = False,
        engine: str = "auto",
        key_frames_only: bool = False,
        hint: str | None = None,
    ) -> None:
        """
        Args:
            opacity: weight of the ID's colour inside the mask (0 to 1).
            outline: also draw the mask's edge in the ID's colour.
            thickness: outline width in pixels (None: scaled with the frame's size).
            antialias: anti-aliased outline.
            engine: `auto` (numba where installed), `numba` or `opencv` (the same pixels).
        """
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        if not 0.0 <= opacity <= 1.0:
            raise ValueError(f"opacity must lie in [0, 1], got {opacity}")
        self.opacity = opacity
        self.outline = outline
        self.thickness = thickness
        self.line_type = cv2.LINE_AA if antialias else cv2.LINE_8
        self.engine = check_engine(engine)

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        t = max(1, line_px(scene, self.thickness) // 2)
        if detections.mask is None:
            return self._annotate_boxes(scene, detections, t)
        H, W = scene.shape[:2]
        g = t // 2 if self.outline else 0  # the outline's outer half reaches this far past the mask
        crops = []  # (area, k, xa, ya, xb, yb): each mask's box (plus g), in object order
        mask_boxes, areas = extents_of(detections)
        for k, ((x0, y0, x1, y1), area) in enumerate(zip(mask_boxes, areas)):
            if area:
                crops.append((area, k, max(0, x0 - g), max(0, y0 - g), min(W, x1 + g), min(H, y1 + g)))
        if not crops:
            return scene
        crops.sort(key=lambda c: -c[0])  # largest first: small objects end on top
        masks = detections.mask
        parts = [
            (masks[k, ya:yb, xa:xb].view(np.uint8), (ya == 0, yb == H, xa == 0, xb == W))
            for _, k, xa, ya, xb, yb in crops
        ]
        r = (t + 1) // 2 if self.outline else 0
        buf, xs = side_by_side(parts, r)
        band = outline_band(buf, t) if self.outline else None
        colours = [palette_color(i) for i in detections.tracker_id.tolist()]
        if use_numba(self.engine) and scene.strides[1:] == (3, 1):  # rows of bytes: a view, not a copy
            cover = buf if band is None else cv2.max(buf, cv2.add(band, band))  # 2: outline, 1: fill, 0: leave
            wide = max(xb - xa for _, _, xa, _, xb, _ in crops)
            paint = np.tile(np.asarray(colours, np.uint8), (1, wide))  # [K, wide*3]
            rows = np.array([(xa, ya, xb, yb, x, r, k) for (_, k, xa, ya, xb, yb), x in zip(crops, xs)], np.int64)
            fill_and_outline()(
                scene.reshape(H, -1),
                cv2.cvtColor(cover, cv2.COLOR_GRAY2RGB).reshape(cover.shape[0], -1),
                rows,
                paint,
                paint.astype(np.float32) * np.float32(self.opacity),
                1.0 - self.opacity,
            )
            return scene
        a = self.opacity
        for (_, k, xa, ya, xb, yb), (m, _), x in zip(crops, parts, xs):
            region = scene[ya:yb, xa:xb]
            tile = colour_tile(colours[k], yb - ya, xb - xa)
            cv2.copyTo(cv2.addWeighted(region, 1.0 - a, tile, a, 0), m, region)
            if band is not None:
                cv2.copyTo(tile, band[r : r + yb - ya, x : x + xb - xa], region)
        return scene

    def _annotate_boxes(self, scene: np.ndarray, detections: Objects, t: int) -> np.ndarray:
        """The box as the mask: filled translucent, its outline a rectangle; larger boxes first."""
        a = self.opacity
        boxes = []
        for k, box in enumerate(detections.xyxy.tolist()):
            xa, ya, xb, yb = pixel_box(box, scene.shape)
            if xb > xa and yb > ya:
                boxes.append(((xb - xa) * (yb - ya), k, xa, ya, xb, yb))
        boxes.sort(key=lambda c: -c[0])
        ids = detections.tracker_id.tolist()
        for _, k, xa, ya, xb, yb in boxes:
            color = palette_color(ids[k])
            region = scene[ya:yb, xa:xb]
            region[:] = cv2.addWeighted(region, 1.0 - a, colour_tile(color, yb - ya, xb - xa), a, 0)
            if self.outline:
                cv2.rectangle(region, (0, 0), (xb - xa - 1, yb - ya - 1), color, t, self.line_type)
        return scene


def side_by_side(crops: list[tuple[np.ndarray, Cut]], r: int) -> tuple[np.ndarray, list[int]]:
    """The crops in one zero uint8 buffer, side by side, `r` pixels around each, and the x at which
    each crop starts (each starts at row `r`).

    Per-pixel steps over all objects then take one call: OpenCV's cost grows with the rows, so one
    wide call costs about what one crop's call does. Where the frame's edge cuts a crop its edge is
    replicated into the `r` pixels instead of zeros, so the outline does not run along the cut.
    """
    shapes = [m.shape for m, _ in crops]
    buf = np.zeros((max(h for h, _ in shapes) + 2 * r, sum(w for _, w in shapes) + 2 * r * len(shapes)), np.uint8)
    xs = []
    x = 0
    for (m, cut), (h, w) in zip(crops, shapes):
        if r and cut != _UNCUT:
            top, bottom, left, right = (r * c for c in cut)
            buf[r - top : r + h + bottom, x + r - left : x + r + w + right] = cv2.copyMakeBorder(
                m, top, bottom, left, right, cv2.BORDER_REPLICATE
            )
        else:
            buf[r : r + h, x + r : x + r + w] = m
        xs.append(x + r)
        x += w + 2 * r
    return buf, xs


def outline_band(buf: np.ndarray, t: int) -> np.ndarray:
    """The outline band (uint8, 1 on the band) of the masks in `buf` (laid out by `side_by_side` with
    r >= (t+1)//2), for a line `t` px wide: the masks dilated by t//2 px minus eroded by (t+1)//2 px."""
    grow, shrink = _disc(t // 2), _disc((t + 1) // 2, cross=t == 1)
    if t % 2 == 0:  # the same element both ways: one call does both steps
        return cv2.morphologyEx(buf, cv2.MORPH_GRADIENT, shrink)
    return cv2.subtract(buf if grow is None else cv2.dilate(buf, grow), cv2.erode(buf, shrink))


@lru_cache(maxsize=32)
def _disc(radius: int, cross: bool = False) -> np.ndarray | None:
    """Structuring element of a morphological step of `radius` px: None for 0, the 3x3 square (or the
    4-neighbour `cross`) for 1, a disc beyond; these bands come closest to OpenCV's strokes."""
    if radius <= 0:
        return None
    shape = cv2.MORPH_ELLIPSE if radius > 1 else cv2.MORPH_CROSS if cross else cv2.MORPH_RECT
    return cv2.getStructuringElement(shape, (2 * radius + 1, 2 * radius + 1))
