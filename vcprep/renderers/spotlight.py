"""VisionCoach's spotlight (darken), plus blur and desaturate modes and optional feathered edges."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from vcprep.renderers.base import FOCUS_MODES, FrameRenderer, Objects
from vcprep.types import Clip

MODES = ("darken", "blur", "desaturate")

HINTS = {
    "darken": "Regions outside the key objects are darkened; focus on the bright regions.",
    "blur": "Regions outside the key objects are blurred; focus on the sharp regions.",
    "desaturate": "Regions outside the key objects are shown in grey; focus on the coloured regions.",
}


def lit_rects(xyxy: np.ndarray, pad_px: int, shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """Padded boxes in whole pixels, clipped to the frame; empty ones dropped."""
    H, W = shape[:2]
    rects = []
    for x1, y1, x2, y2 in np.asarray(xyxy, np.float32).reshape(-1, 4).tolist():
        xa, ya = max(0, math.floor(x1) - pad_px), max(0, math.floor(y1) - pad_px)
        xb, yb = min(W, math.ceil(x2) + pad_px), min(H, math.ceil(y2) + pad_px)
        if xb > xa and yb > ya:
            rects.append((xa, ya, xb, yb))
    return rects


class Spotlight(FrameRenderer):
    """Light the key objects, subdue the rest.

    `darken` is VisionCoach's prompt: boxes padded by `pad_px`, pixels outside their union scaled
    by `factor` (`out = img*m + factor*img*(1-m)`, rounded to the nearest level), hard edges.
    `blur` blurs the outside (Gaussian, sigma = `blur_sigma_frac` of the longer side, so it looks
    the same at any size); `desaturate` keeps `saturation` of the outside's colour (0: grey).
    `feather_px` > 0 softens the edge with a Gaussian of that sigma. `pad_px` and `feather_px` are
    pixels of the stored frame, not scaled with it: VisionCoach's pad is an exact 10 px.
    `focus`: `target` lights the sample's target, `all` every key object (a sample may override it
    through `Clip.focus`). Frames without a key object are left unchanged: there is nothing to
    point at.

    Speed: the outside is computed once for the whole frame and the lit rectangles are pasted back
    from the source, so no mask is built.
    Feathering blends only the band around each rectangle where the weight is neither 0 nor 1: a
    Gaussian-blurred rectangle is the outer product of two blurred 1-D steps, and overlapping
    rectangles combine as a soft union (`1 - (1-m1)(1-m2)`), which is 1 inside any of them. Blur
    works on a frame shrunk so the kernel stays small, then enlarged.
    """

    name = "spotlight"
    copies_input = False

    def __init__(
        self,
        *,
        mode: str = "darken",
        factor: float = 0.3,
        pad_px: int = 10,
        focus: str = "target",
        blur_sigma_frac: float = 0.02,
        saturation: float = 0.0,
        feather_px: float = 0.0,
        key_frames_only: bool = False,
        hint: str | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"spotlight mode must be one of {MODES}, got {mode!r}")
        if focus not in FOCUS_MODES:
            raise ValueError(f"focus must be one of {FOCUS_MODES}, got {focus!r}")
        if not 0.0 <= factor <= 1.0 or not 0.0 <= saturation <= 1.0:
            raise ValueError(f"factor and saturation must lie in [0, 1], got {factor}, {saturation}")
        if pad_px < 0 or feather_px < 0:
            raise ValueError(f"pad_px and feather_px must be >= 0, got {pad_px}, {feather_px}")
        super().__init__(key_frames_only=key_frames_only, hint=HINTS[mode] if hint is None else hint)
        self.mode = mode
        self.factor = factor
        self.pad_px = pad_px
        self.focus = focus
        self.blur_sigma_frac = blur_sigma_frac
        self.saturation = saturation
        self.feather_px = feather_px

    def select(self, clip: Clip, i: int) -> Objects:
        return self.select_focus(clip, i, self.focus)

    def outside(self, scene: np.ndarray) -> np.ndarray:
        """The whole frame as the unlit part should look (a new array)."""
        if self.mode == "darken":
            return cv2.convertScaleAbs(scene, alpha=self.factor)
        if self.mode == "desaturate":
            grey = cv2.cvtColor(cv2.cvtColor(scene, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
            if self.saturation <= 0:
                return grey
            return cv2.addWeighted(scene, self.saturation, grey, 1.0 - self.saturation, 0)
        H, W = scene.shape[:2]
        sigma_px = self.blur_sigma_frac * max(H, W)
        # a wide blur on a shrunk frame, enlarged again, looks the same and costs a fraction: halve the
        # frame (area averaging, exact 2x2 means, OpenCV's fastest shrink) while the remaining sigma
        # stays >= 1.5 px; 2x2 means repeated equal one k x k mean up to rounding, at a third of its cost
        shrink, small = 1, scene
        while sigma_px / (2 * shrink) >= 1.5 and min(H, W) // (2 * shrink) >= 8:
            shrink *= 2
            small = cv2.resize(small, (W // shrink, H // shrink), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), max(0.5, sigma_px / shrink))
        return cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        """`scene` lit at the detections' boxes: a new array, even on a frame the chain owns (subduing in
        place would first save the lit boxes and then put them back, two copies of them instead of one:
        measured 8% slower); `scene` itself is not modified."""
        rects = lit_rects(detections.xyxy, self.pad_px, scene.shape)
        if not rects:
            return scene
        out = self.outside(scene)
        if self.feather_px > 0:
            return self.feathered(scene, out, rects)
        for xa, ya, xb, yb in rects:
            out[ya:yb, xa:xb] = scene[ya:yb, xa:xb]
        return out

    def feathered(self, scene: np.ndarray, out: np.ndarray, rects: list[tuple[int, int, int, int]]) -> np.ndarray:
        """`out` (the subdued frame) with `scene` blended back through each rectangle's soft edge.

        Where a rectangle's core (weight 1 to the nearest level on both axes) is a third of its reach
        or more, the core is copied and only the four bands around it are blended; a smaller core is
        blended with the rest, as four calls would cost more than its pixels. The blend is fixed point
        on uint8 (weights in 0..255, see `_blend_u8`).
        """
        H, W = scene.shape[:2]
        reach = math.ceil(3 * self.feather_px)
        full = 1.0 - 0.5 / 255  # weights above this round to 255
        darker = self.mode == "darken"  # the outside is never brighter than the source
        for xa, ya, xb, yb in rects:
            x0, y0, x1, y1 = max(0, xa - reach), max(0, ya - reach), min(W, xb + reach), min(H, yb + reach)
            ly = _soft_step(y0, y1, ya, yb, self.feather_px)  # [y1 - y0]
            lx = _soft_step(x0, x1, xa, xb, self.feather_px)  # [x1 - x0]
            ry, rx = np.flatnonzero(ly >= full), np.flatnonzero(lx >= full)
            cy0, cy1, cx0, cx1 = (
                (int(ry[0]), int(ry[-1]) + 1, int(rx[0]), int(rx[-1]) + 1) if len(ry) and len(rx) else (0, 0, 0, 0)
            )  # a blurred step is unimodal: its full part is one run
            # four bands around the core cost four times the calls: worth it only for a large core
            if 3 * (cy1 - cy0) * (cx1 - cx0) >= (y1 - y0) * (x1 - x0):
                out[y0 + cy0 : y0 + cy1, x0 + cx0 : x0 + cx1] = scene[y0 + cy0 : y0 + cy1, x0 + cx0 : x0 + cx1]
                bands = ((0, cy0, 0, x1 - x0), (cy1, y1 - y0, 0, x1 - x0), (cy0, cy1, 0, cx0), (cy0, cy1, cx1, x1 - x0))
            else:
                bands = ((0, y1 - y0, 0, x1 - x0),)
            for by0, by1, bx0, bx1 in bands:
                if by1 <= by0 or bx1 <= bx0:
                    continue
                w = cv2.convertScaleAbs(np.outer(ly[by0:by1], lx[bx0:bx1]), alpha=255.0)  # [h, w] uint8
                ys, xs = slice(y0 + by0, y0 + by1), slice(x0 + bx0, x0 + bx1)
                out[ys, xs] = _blend_u8(scene[ys, xs], out[ys, xs], cv2.merge((w, w, w)), darker)
        return out


def _blend_u8(lit: np.ndarray, dim: np.ndarray, weight: np.ndarray, darker: bool = False) -> np.ndarray:
    """[h, w, 3] uint8: `dim + round(weight/255 * (lit - dim))`, all uint8.

    The difference is split into its positive and negative parts (saturating subtractions; one of
    them is 0 at each pixel), so each pixel is rounded once: the result equals the float blend
    rounded to the nearest level and grows monotonically with the weight. `darker`: `dim <= lit`
    everywhere (darkening), so the negative part is 0 and skipped. 2-3x cheaper than
    `cv2.blendLinear`, which converts to float.
    """
    out = cv2.add(dim, cv2.multiply(cv2.subtract(lit, dim), weight, scale=1 / 255))
    if darker:
        return out
    return cv2.subtract(out, cv2.multiply(cv2.subtract(dim, lit), weight, scale=1 / 255))


@lru_cache(maxsize=32)
def _edge_ramp(sigma_px: float) -> tuple[np.ndarray, int]:
    """(ramp, r): a rising 1-D step blurred by a Gaussian of `sigma_px`; `ramp[k + r]` is its value k px
    past the edge, for k in [-r, r) (0 before, 1 after: r exceeds the kernel's reach)."""
    r = math.ceil(4 * sigma_px) + 1
    step = np.zeros(4 * r, np.float32)
    step[2 * r :] = 1.0
    blurred = cv2.GaussianBlur(step.reshape(1, -1), (0, 0), sigma_px, borderType=cv2.BORDER_REPLICATE)
    return blurred[0, r : 3 * r].copy(), r


def _soft_step(lo: int, hi: int, start: int, end: int, sigma_px: float) -> np.ndarray:
    """[hi - lo] float32: 1 on [start, end), 0 elsewhere, blurred by a Gaussian of `sigma_px`.

    Blurring is linear, so the blurred box is a blurred rising edge at `start` minus one at `end`,
    each read from one cached ramp. The frame edge is not an edge of the object: an edge at or
    beyond the frame's border is left out, so a box touching the border stays fully lit there.
    """
    ramp, r = _edge_ramp(sigma_px)
    if start <= lo:
        step = np.ones(hi - lo, np.float32)
    else:
        step = ramp.take(np.arange(lo - start + r, hi - start + r), mode="clip")
    if end < hi:
        step -= ramp.take(np.arange(lo - end + r, hi - end + r), mode="clip")
    return step
