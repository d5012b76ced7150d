"""VisionCoach's spotlight (darken), plus blur and desaturate modes and optional feathered edges."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from vcprep.core.types import Clip
from vcprep.render.renderers.base import FOCUS_MODES, FrameRenderer, Objects
from vcprep.render.renderers.extents import pixel_box

MODES = ("darken", "blur", "desaturate")

HINTS = {
    "darken": "Regions outside the key objects are darkened; focus on the bright regions.",
    "blur": "Regions outside the key objects are blurred; focus on the sharp regions.",
    "desaturate": "Regions outside the key objects are shown in grey; focus on the coloured regions.",
}


def lit_rects(xyxy: np.ndarray, pad_px: int, shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """Padded boxes in whole pixels, clipped to the frame; empty ones dropped."""
    rects = []
    for box in np.asarray(xyxy, np.float32).reshape(-1, 4).tolist():
        xa, ya, xb, yb = pixel_box(box, shape, pad_px)
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
    Feathering builds the weight only on the rows the rectangles reach, from per-rectangle outer
    products of two blurred 1-D steps (a Gaussian-blurred rectangle is exactly that); overlapping
    rectangles combine as a soft union (`1 - (1-m1)(1-m2)`), which is 1 inside any of them. Feathered
    darkening is a single multiplication of the source by its per-pixel gain. Blur works on a frame
    shrunk so the kernel stays small, then enlarged.
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
        """
        Args:
            mode: `darken` (VisionCoach), `blur` or `desaturate`: what happens outside the lit boxes.
            factor: `darken`: brightness kept outside (VisionCoach: 0.3).
            pad_px: pixels added around each lit box (VisionCoach: 10).
            focus: `target` lights the sample's target, `all` every key object.
            blur_sigma_frac: `blur`: Gaussian sigma as a share of the frame's longer side.
            saturation: `desaturate`: share of the colour kept outside (0: grey).
            feather_px: sigma in pixels of a soft edge (0: hard edges).
        """
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
        kernel = _gaussian_kernel(round(max(0.5, sigma_px / shrink), 3))
        small = cv2.sepFilter2D(small, -1, kernel, kernel)
        return cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        """`scene` lit at the detections' boxes: a new array, even on a frame the chain owns (subduing in
        place would first save the lit boxes and then put them back, two copies of them instead of one:
        measured 8% slower); `scene` itself is not modified."""
        rects = lit_rects(detections.xyxy, self.pad_px, scene.shape)
        if not rects:
            return scene
        if self.feather_px > 0:
            return self.feathered(scene, rects)
        out = self.outside(scene)
        for xa, ya, xb, yb in rects:
            out[ya:yb, xa:xb] = scene[ya:yb, xa:xb]
        return out

    def feathered(self, scene: np.ndarray, rects: list[tuple[int, int, int, int]]) -> np.ndarray:
        """`scene` subdued outside the soft union of the rectangles' feathered masks (a new array).

        Only the rows within the rectangles' reach (3 sigma past their edges) need a weight; the rows
        above and below are plain outside (whole rows: narrow column strips cost more per pixel than
        the few extra pixels they would save). The weight is kept as its complement (`_unlit`, 255 =
        fully subdued). Darkening is then one multiplication of the source by
        `255 - (1 - factor) * 255 * unlit` (the darkening and the blend in one pass); the other modes
        blend the subdued frame back towards the source by the weight.
        """
        H, W = scene.shape[:2]
        reach = math.ceil(3 * self.feather_px)
        zones = [
            (max(0, xa - reach), max(0, ya - reach), min(W, xb + reach), min(H, yb + reach)) for xa, ya, xb, yb in rects
        ]
        y0, y1 = min(z[1] for z in zones), max(z[3] for z in zones)
        band = slice(y0, y1)
        if self.mode != "darken":
            out = self.outside(scene)
            weight = cv2.bitwise_not(_unlit(rects, zones, (y0, y1, W), self.feather_px, 255))  # [y1 - y0, W]
            out[band] = _blend_u8(scene[band], out[band], cv2.cvtColor(weight, cv2.COLOR_GRAY2RGB))
            return out
        out = np.empty_like(scene)
        for rows in (slice(0, y0), slice(y1, H)):
            if rows.stop > rows.start:
                cv2.convertScaleAbs(scene[rows], dst=out[rows], alpha=self.factor)
        depth = round((1.0 - self.factor) * 255)  # how much darker a fully subdued pixel gets, of 255
        gain = cv2.bitwise_not(_unlit(rects, zones, (y0, y1, W), self.feather_px, depth))  # 255 - depth * unlit
        cv2.multiply(scene[band], cv2.cvtColor(gain, cv2.COLOR_GRAY2RGB), dst=out[band], scale=1 / 255)
        return out


def _unlit(
    rects: list[tuple[int, int, int, int]],
    zones: list[tuple[int, int, int, int]],
    rows: tuple[int, int, int],
    sigma_px: float,
    full: int,
) -> np.ndarray:
    """[y1 - y0, width] uint8 for `rows` (y0, y1, width): `full` times the product over rectangles of
    `1 - w_k`, rounded at each step.

    A Gaussian-blurred rectangle is the outer product of two blurred 1-D steps (`w_k = ly ⊗ lx`, on
    the rectangle's `zone`, zero past it), and overlapping rectangles combine as a soft union
    (`1 - (1-w1)(1-w2)`), which is 1 inside any of them. A handful of OpenCV calls per rectangle:
    at a few thousand pixels each, their fixed cost is what counts, so none is spent on a band split.
    """
    y0, y1, width = rows
    unlit = np.full((y1 - y0, width), full, np.uint8)
    for (xa, ya, xb, yb), (za, zb, zc, zd) in zip(rects, zones):
        ly = _soft_step(zb, zd, ya, yb, sigma_px).reshape(-1, 1)  # [zd - zb, 1]
        lx = _soft_step(za, zc, xa, xb, sigma_px).reshape(1, -1)  # [1, zc - za]
        keep = cv2.convertScaleAbs(cv2.gemm(ly, lx, 1.0, None, 0.0), alpha=-255.0, beta=255.0)  # 255 * (1 - w)
        part = unlit[zb - y0 : zd - y0, za:zc]
        cv2.multiply(part, keep, dst=part, scale=1 / 255)
    return unlit


def _blend_u8(lit: np.ndarray, dim: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """[h, w, 3] uint8: `dim + round(weight/255 * (lit - dim))`, all uint8.

    The difference is split into its positive and negative parts (saturating subtractions; one of
    them is 0 at each pixel), so each pixel is rounded once: the result equals the float blend
    rounded to the nearest level and grows monotonically with the weight. 2-3x cheaper than
    `cv2.blendLinear`, which converts to float.
    """
    out = cv2.add(dim, cv2.multiply(cv2.subtract(lit, dim), weight, scale=1 / 255))
    return cv2.subtract(out, cv2.multiply(cv2.subtract(dim, lit), weight, scale=1 / 255))


@lru_cache(maxsize=64)
def _gaussian_kernel(sigma_px: float) -> np.ndarray:
    """`cv2.GaussianBlur`'s kernel for uint8 images at `sigma_px` (size `round(6 sigma + 1)`, odd), as a
    float32 column. `cv2.sepFilter2D` with it blurs a small frame in a third of `GaussianBlur`'s time
    (whose exact fixed-point path for uint8 costs more than the pixels on an 80x45 frame), to within
    a level of it."""
    return cv2.getGaussianKernel(round(sigma_px * 6 + 1) | 1, sigma_px, cv2.CV_32F)


@lru_cache(maxsize=64)
def _edge_ramp(sigma_px: float, span_px: int) -> tuple[np.ndarray, int]:
    """(ramp, origin): a rising 1-D step blurred by a Gaussian of `sigma_px`; `ramp[origin + k]` is its
    value k px past the edge, for k in [-span_px, span_px) (0 long before, 1 long after). Read by
    slicing, so a soft step costs a subtraction, not a gather."""
    r = math.ceil(4 * sigma_px) + 1  # past the kernel's reach
    step = np.zeros(4 * r, np.float32)
    step[2 * r :] = 1.0
    blurred = cv2.GaussianBlur(step.reshape(1, -1), (0, 0), sigma_px, borderType=cv2.BORDER_REPLICATE)
    span = max(span_px, r)
    ramp = np.concatenate([np.zeros(span - r, np.float32), blurred[0, r : 3 * r], np.ones(span - r, np.float32)])
    return ramp, span


def _soft_step(lo: int, hi: int, start: int, end: int, sigma_px: float) -> np.ndarray:
    """[hi - lo] float32: 1 on [start, end), 0 elsewhere, blurred by a Gaussian of `sigma_px`.

    Blurring is linear, so the blurred box is a blurred rising edge at `start` minus one at `end`,
    each a slice of one cached ramp. The frame edge is not an edge of the object: an edge at or
    beyond the frame's border is left out, so a box touching the border stays fully lit there.
    """
    n = hi - lo
    reach = math.ceil(4 * sigma_px) + 1  # an edge farther than this outside [lo, hi) acts as one this far
    span = 1 << (n + 2 * reach).bit_length()  # a few sizes cached, each long enough for any edge
    ramp, origin = _edge_ramp(sigma_px, span)
    if start <= lo:
        step = np.ones(n, np.float32)
    else:
        k = origin + lo - min(start, hi + reach)
        step = ramp[k : k + n].copy()
    if end < hi:
        k = origin + lo - max(end, lo - reach)
        step -= ramp[k : k + n]
    return step
