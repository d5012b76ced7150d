"""Text placement shared by the tag renderers: sizes that scale with the frame, boxes kept inside it."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX


def scale_for(scene: np.ndarray, reference_px: float = 336.0) -> float:
    """Resolution factor (longer side / `reference_px`) so text and lines read the same at 320 and 1920 px."""
    return max(scene.shape[:2]) / reference_px


def stvg_font(scene: np.ndarray) -> tuple[float, int]:
    """STVG-R1's tag size: font_scale = (20/30) * max(H, W) / 336, thickness = max(2, int(2 * font_scale))."""
    font_scale = (20 / 30) * max(scene.shape[:2]) / 336
    return font_scale, max(2, int(2 * font_scale))


def font_for_height(height_px: float, thickness: int) -> float:
    """Hershey font scale whose capital letters are `height_px` tall."""
    return float(cv2.getFontScaleFromHeight(FONT, max(1, int(round(height_px))), thickness))


def text_box(
    text: str,
    centre: tuple[float, float],
    font_scale: float,
    thickness: int,
    frame_hw: tuple[int, int],
) -> tuple[int, int, int, int, int]:
    """Where `text` goes so its box is centred on `centre` yet lies inside the frame.

    Returns (x, baseline_y, width, height, baseline) in the convention of `cv2.putText`.
    """
    (w, h), base = cv2.getTextSize(text, FONT, font_scale, thickness)
    H, W = frame_hw
    # plain min/max: np.clip on scalars costs more than the drawing
    x = min(max(int(round(centre[0] - w / 2)), 0), max(0, W - w))
    y = min(max(int(round(centre[1] + h / 2)), h), max(h, H - base))
    return x, y, w, h, base


def put_centred_text(
    scene: np.ndarray,
    text: str,
    centre: tuple[float, float],
    font_scale: float,
    thickness: int,
    color: tuple[int, int, int],
) -> tuple[int, int, int, int]:
    """Draw `text` anti-aliased with its box centred on `centre`, shifted to stay inside the frame.

    Returns the text box (x1, y1, x2, y2) actually used, baseline included.
    """
    x, y, w, h, base = text_box(text, centre, font_scale, thickness, scene.shape[:2])
    put_text(scene, text, (x, y), font_scale, thickness, color)
    return x, y - h, x + w, y + base


@lru_cache(maxsize=4096)
def _glyphs(text: str, font_scale: float, thickness: int) -> tuple[np.ndarray, int, int]:
    """(coverage, dx, dy): `text` as `cv2.putText` draws it anti-aliased (float32 [h, w] in 0..1;
    [0, 0] for text with no ink) and the offset of that patch's top-left from the text origin."""
    (w, h), base = cv2.getTextSize(text, FONT, font_scale, thickness)
    pad = 2 * thickness + 4  # strokes and their anti-aliased rims reach past the text box
    canvas = np.zeros((h + base + 2 * pad, w + 2 * pad), np.uint8)
    cv2.putText(canvas, text, (pad, pad + h), FONT, font_scale, 255, thickness, cv2.LINE_AA)
    ys, xs = np.nonzero(canvas)
    if not len(ys):
        return np.zeros((0, 0), np.float32), 0, 0
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    return canvas[y0:y1, x0:x1].astype(np.float32) / 255, x0 - pad, y0 - pad - h


@lru_cache(maxsize=4096)
def _ink(
    text: str, font_scale: float, thickness: int, color: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(keep, paint, dx, dy): the glyphs of `_glyphs` in `color` as two uint8 [h, w, 3] patches, so that
    drawing is `frame * keep / 255 + paint` (keep = 255 * (1 - coverage), paint = colour * coverage,
    each rounded): two integer-input OpenCV calls instead of a float blend, 1.7x cheaper on a tag."""
    cover, dx, dy = _glyphs(text, font_scale, thickness)
    keep = np.repeat(np.round((1 - cover) * 255).astype(np.uint8)[..., None], 3, axis=2)
    paint = np.round(cover[..., None] * np.asarray(color, np.float32)).astype(np.uint8)
    keep.flags.writeable = paint.flags.writeable = False
    return keep, paint, dx, dy


def put_text(
    scene: np.ndarray,
    text: str,
    org: tuple[int, int],
    font_scale: float,
    thickness: int,
    color: tuple[int, int, int],
) -> None:
    """`cv2.putText(scene, text, org, FONT, font_scale, color, thickness, cv2.LINE_AA)`, from a cache.

    The glyphs of a text at a size and colour are rasterised once (a video shows the same IDs at the
    same size on every frame) and blended onto the frame with their coverage. Strokes drawn over each
    other in one colour compose to `colour*a + img*(1-a)` with `a` the combined coverage, which is what
    the cached patches hold: the result matches `putText` within a few levels. Measured in the
    renderers (a new frame each time, so cold caches), this costs about two thirds of `putText`; a tight
    loop on one frame would suggest the opposite.
    """
    keep, paint, dx, dy = _ink(text, font_scale, thickness, color)
    H, W = scene.shape[:2]
    x0, y0 = org[0] + dx, org[1] + dy
    xa, ya = max(0, x0), max(0, y0)
    xb, yb = min(W, x0 + keep.shape[1]), min(H, y0 + keep.shape[0])
    if xb <= xa or yb <= ya:
        return
    region = scene[ya:yb, xa:xb]
    if (xa, ya, xb, yb) != (x0, y0, x0 + keep.shape[1], y0 + keep.shape[0]):  # cut by the frame's edge
        keep, paint = keep[ya - y0 : yb - y0, xa - x0 : xb - x0], paint[ya - y0 : yb - y0, xa - x0 : xb - x0]
    cv2.add(cv2.multiply(region, keep, scale=1 / 255), paint, dst=region)
