"""Text placement shared by the tag renderers: sizes that scale with the frame, boxes kept inside it."""

from __future__ import annotations

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
    text: str, centre: tuple[float, float], font_scale: float, thickness: int, frame_hw: tuple[int, int],
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
    scene: np.ndarray, text: str, centre: tuple[float, float], font_scale: float, thickness: int,
    color: tuple[int, int, int],
) -> tuple[int, int, int, int]:
    """Draw `text` anti-aliased with its box centred on `centre`, shifted to stay inside the frame.

    Returns the text box (x1, y1, x2, y2) actually used, baseline included.
    """
    x, y, w, h, base = text_box(text, centre, font_scale, thickness, scene.shape[:2])
    cv2.putText(scene, text, (x, y), FONT, font_scale, color, thickness, cv2.LINE_AA)
    return x, y - h, x + w, y + base
