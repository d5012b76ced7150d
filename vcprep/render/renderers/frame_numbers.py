"""NumPro's frame numbers: the frame's number in red, bottom right, on every frame."""

from __future__ import annotations

import cv2
import numpy as np

from vcprep.core.types import Clip
from vcprep.render.renderers.base import FrameRenderer
from vcprep.render.renderers.palette import RED
from vcprep.render.renderers.text import FONT, font_for_height, put_text

NUMBERINGS = ("sampled", "source")


class FrameNumbers(FrameRenderer):
    """NumPro draws the frame index in red, bold sans at font size 40, in the bottom-right corner.

    Hershey simplex stands in for the sans font; a 40-px font has capitals about 29 px tall, so
    the digits are `0.72 * font_px` tall at `reference_px` (longer side) and scale with the frame.
    `numbering`: `sampled` counts the frames the model sees (0, 1, 2, ...; with 1 fps sampling the
    number is the second, as in NumPro), `source` prints the source video's frame index.
    """

    name = "frame_numbers"
    hint = "Each frame shows its frame number in red in the bottom-right corner."

    def __init__(
        self,
        *,
        numbering: str = "sampled",
        start: int = 0,
        font_px: float = 40.0,
        reference_px: float = 640.0,
        key_frames_only: bool = False,
        hint: str | None = None,
    ) -> None:
        """
        Args:
            numbering: `sampled` counts the frames the model sees, `source` prints the video's own frame index.
            start: number of the first frame.
            font_px: font size in pixels at `reference_px` (NumPro: 40).
            reference_px: longer frame side at which `font_px` applies; the text scales with the frame.
        """
        if numbering not in NUMBERINGS:
            raise ValueError(f"numbering must be one of {NUMBERINGS}, got {numbering!r}")
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        self.numbering = numbering
        self.start = start
        self.font_px = font_px
        self.reference_px = reference_px

    def number(self, clip: Clip, i: int) -> int:
        return self.start + (i if self.numbering == "sampled" else int(clip.frame_indices[i]))

    def geometry(self, scene: np.ndarray) -> tuple[float, int, int]:
        """(font_scale, thickness, margin_px) for this frame size."""
        cap_px = 0.72 * self.font_px * max(scene.shape[:2]) / self.reference_px
        thickness = max(2, int(round(cap_px / 8)))  # bold
        return font_for_height(cap_px, thickness), thickness, max(2, int(round(cap_px / 3)))

    def annotate_frame(self, scene: np.ndarray, clip: Clip, i: int) -> np.ndarray:
        text = str(self.number(clip, i))
        font_scale, thickness, margin = self.geometry(scene)
        (w, h), base = cv2.getTextSize(text, FONT, font_scale, thickness)
        H, W = scene.shape[:2]
        x, y = max(0, W - margin - w), max(h, H - margin - base)
        put_text(scene, text, (x, y), font_scale, thickness, RED)
        return scene
