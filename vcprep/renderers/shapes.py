"""Outlines and fills per object: boxes, translucent masks, and VisionCoach's red circle."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from vcprep.renderers.base import FOCUS_MODES, FrameRenderer, Objects
from vcprep.renderers.extents import extents_of
from vcprep.renderers.palette import RED, colour_tile, palette_color
from vcprep.renderers.text import scale_for
from vcprep.types import Clip


def line_px(scene: np.ndarray, thickness: int | None) -> int:
    """Line width: 2 px at 320 px (longer side), growing with resolution, unless given."""
    return thickness or max(1, round(scale_for(scene, 320.0) * 2))


def _box_px(xyxy: np.ndarray, shape: tuple[int, ...], margin_px: int = 0) -> tuple[int, int, int, int]:
    H, W = shape[:2]
    x1, y1, x2, y2 = xyxy
    return (
        max(0, math.floor(x1) - margin_px),
        max(0, math.floor(y1) - margin_px),
        min(W, math.ceil(x2) + margin_px),
        min(H, math.ceil(y2) + margin_px),
    )


@lru_cache(maxsize=32)
def _disc(radius: int, cross: bool = False) -> np.ndarray | None:
    """Structuring element of a morphological step of `radius` px: None for 0, the 3x3 square (or the
    4-neighbour `cross`) for 1, a disc beyond; these bands come closest to OpenCV's strokes."""
    if radius <= 0:
        return None
    shape = cv2.MORPH_ELLIPSE if radius > 1 else cv2.MORPH_CROSS if cross else cv2.MORPH_RECT
    return cv2.getStructuringElement(shape, (2 * radius + 1, 2 * radius + 1))


class Boxes(FrameRenderer):
    """A box outline per object, coloured by ID from the shared palette; line width scales with resolution.

    Axis-aligned lines gain nothing visible from anti-aliasing, which costs 3x: off by default."""

    name = "boxes"
    hint = "Each object in the video is outlined by a box whose colour identifies it."

    def __init__(
        self,
        *,
        thickness: int | None = None,
        antialias: bool = False,
        key_frames_only: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        self.thickness = thickness
        self.line_type = cv2.LINE_AA if antialias else cv2.LINE_8

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        t = line_px(scene, self.thickness)
        # Python lists: indexing numpy scalars one by one costs more than drawing the rectangle
        for (x1, y1, x2, y2), track_id in zip(detections.xyxy.tolist(), detections.tracker_id.tolist()):
            cv2.rectangle(
                scene,
                (round(x1), round(y1)),
                (round(x2) - 1, round(y2) - 1),
                palette_color(track_id),
                t,
                self.line_type,
            )
        return scene


class Masks(FrameRenderer):
    """Each object's mask filled in its palette colour at `opacity` (out = (1-a)*img + a*colour inside
    the mask), with an optional outline. Without masks (a box tracker) the box is the mask.

    Work is confined to each mask's bounding box (see `extents`; plus the outline's reach): full-frame
    passes per object would cost 8x a frame. The outline is
    the mask dilated by t//2 px minus the mask eroded by (t+1)//2 px, a band `t` px wide on the mask's
    edge: for t = 1 exactly the border pixels a traced contour covers, for wider lines nearly the
    band a `t`-px stroke along the contour covers (OpenCV's 2-px stroke is ~1 px wider on diagonals),
    at a third of the cost of tracing and stroking it (thick strokes are round-capped segments, one
    per contour vertex). The morphology of all objects of a frame runs in one call, their crops side
    by side (see `_outline_bands`)."""

    name = "masks"
    hint = "Each object in the video is covered by a translucent colour that identifies it."

    def __init__(
        self,
        *,
        opacity: float = 0.5,
        outline: bool = True,
        thickness: int | None = None,
        antialias: bool = False,
        key_frames_only: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        if not 0.0 <= opacity <= 1.0:
            raise ValueError(f"opacity must lie in [0, 1], got {opacity}")
        self.opacity = opacity
        self.outline = outline
        self.thickness = thickness
        self.line_type = cv2.LINE_AA if antialias else cv2.LINE_8

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        a = self.opacity
        t = max(1, line_px(scene, self.thickness) // 2)
        H, W = scene.shape[:2]
        ids = detections.tracker_id.tolist()
        g = t // 2 if self.outline else 0  # the outline's outer half reaches this far past the mask
        crops = []  # (area, k, crop of the mask as uint8 or None, xa, ya, xb, yb), in object order
        if detections.mask is None:  # the box is the mask
            for k, box in enumerate(detections.xyxy.tolist()):
                xa, ya, xb, yb = _box_px(box, scene.shape)
                if xb > xa and yb > ya:
                    crops.append(((xb - xa) * (yb - ya), k, None, xa, ya, xb, yb))
        else:
            mask_boxes, areas = extents_of(detections)
            for k, (mask, (x0, y0, x1, y1), area) in enumerate(zip(detections.mask, mask_boxes, areas)):
                if area:
                    xa, ya, xb, yb = max(0, x0 - g), max(0, y0 - g), min(W, x1 + g), min(H, y1 + g)
                    crops.append((area, k, mask[ya:yb, xa:xb].view(np.uint8), xa, ya, xb, yb))
        crops.sort(key=lambda c: -c[0])  # largest first: small objects end on top
        outlined = [(m, (ya == 0, yb == H, xa == 0, xb == W)) for _, _, m, xa, ya, xb, yb in crops if m is not None]
        bands = iter(_outline_bands(outlined, t) if self.outline and outlined else ())
        for _, k, m, xa, ya, xb, yb in crops:
            color = palette_color(ids[k])
            region = scene[ya:yb, xa:xb]
            tile = colour_tile(color, yb - ya, xb - xa)
            blended = cv2.addWeighted(region, 1.0 - a, tile, a, 0)
            if m is None:
                region[:] = blended
                if self.outline:
                    cv2.rectangle(region, (0, 0), (xb - xa - 1, yb - ya - 1), color, t, self.line_type)
                continue
            cv2.copyTo(blended, m, region)
            if self.outline:
                cv2.copyTo(tile, next(bands), region)
        return scene


_UNCUT = (False, False, False, False)


def _outline_bands(crops: list[tuple[np.ndarray, tuple[bool, bool, bool, bool]]], t: int) -> list[np.ndarray]:
    """The outline band (uint8, nonzero on the band) of each mask crop, for a line `t` px wide: the
    mask dilated by t//2 px minus the mask eroded by (t+1)//2 px.

    All crops go side by side into one buffer, `r` zero pixels around each (more than the elements
    reach), and the morphology runs once: its cost grows with the rows, so one wide call costs about
    what one crop's call does, against eight calls for eight objects. Where the frame's edge cuts a
    crop (`cut`: top, bottom, left, right) its edge is replicated instead, so a mask cut by the frame
    is not outlined along the cut; masks are taken to lie within their crops otherwise.
    """
    grow, shrink = _disc(t // 2), _disc((t + 1) // 2, cross=t == 1)
    r = (t + 1) // 2
    shapes = [m.shape for m, _ in crops]
    buf = np.zeros((max(h for h, _ in shapes) + 2 * r, sum(w for _, w in shapes) + 2 * r * len(shapes)), np.uint8)
    slots = []
    x = 0
    for (m, cut), (h, w) in zip(crops, shapes):
        if cut != _UNCUT:
            top, bottom, left, right = (r * c for c in cut)
            buf[r - top : r + h + bottom, x + r - left : x + r + w + right] = cv2.copyMakeBorder(
                m, top, bottom, left, right, cv2.BORDER_REPLICATE
            )
        else:
            buf[r : r + h, x + r : x + r + w] = m
        slots.append((slice(r, r + h), slice(x + r, x + r + w)))
        x += w + 2 * r
    if t % 2 == 0:  # the same element both ways: one call does both steps
        band = cv2.morphologyEx(buf, cv2.MORPH_GRADIENT, shrink)
    else:
        band = cv2.subtract(buf if grow is None else cv2.dilate(buf, grow), cv2.erode(buf, shrink))
    return [band[rows, cols] for rows, cols in slots]


class Circle(FrameRenderer):
    """VisionCoach's red circle: a red ellipse around each key object. The ellipse is the one that
    passes through the (padded) box's corners with the box's aspect (semi-axes = half-sides * sqrt 2),
    so it encloses the object without covering it. VisionCoach did not release its parameters.
    The outline is filled as a ring (see `_ellipse_ring`). Anti-aliased edges cost more and show
    little on a red line; `antialias` turns them on."""

    name = "circle"
    hint = "The key objects are circled in red; focus on the circled regions."

    def __init__(
        self,
        *,
        focus: str = "target",
        pad_px: int = 0,
        thickness: int | None = None,
        antialias: bool = False,
        key_frames_only: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        if focus not in FOCUS_MODES:
            raise ValueError(f"focus must be one of {FOCUS_MODES}, got {focus!r}")
        self.focus = focus
        self.pad_px = pad_px
        self.thickness = thickness
        self.line_type = cv2.LINE_AA if antialias else cv2.LINE_8

    def select(self, clip: Clip, i: int) -> Objects:
        return self.select_focus(clip, i, self.focus)

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        t = line_px(scene, self.thickness)
        for x1, y1, x2, y2 in detections.xyxy.tolist():
            centre = (int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2)))
            axes = (
                int(round((x2 - x1) / 2 * math.sqrt(2))) + self.pad_px,
                int(round((y2 - y1) / 2 * math.sqrt(2))) + self.pad_px,
            )
            _ellipse_ring(scene, centre, axes, t, self.line_type)
        return scene


def _ellipse_ring(scene: np.ndarray, centre: tuple[int, int], axes: tuple[int, int], t: int, line_type: int) -> None:
    """A red ellipse outline `t` px wide: the ring between the ellipses with semi-axes +/- t/2, filled
    in one scan. `cv2.ellipse` strokes the same curve as a chain of round-capped segments, which
    covers the same band (to a pixel on its rims) at 1.4x the cost for thick lines."""
    h = t / 2
    outer = cv2.ellipse2Poly(centre, (round(axes[0] + h), round(axes[1] + h)), 0, 0, 360, 2)
    inner_axes = (round(axes[0] - h), round(axes[1] - h))
    if min(inner_axes) < 1:  # a line wider than the ellipse: a filled blob, as the stroke would be
        cv2.fillPoly(scene, [outer], RED, line_type)
        return
    cv2.fillPoly(scene, [outer, cv2.ellipse2Poly(centre, inner_axes, 0, 0, 360, 2)], RED, line_type)
