"""ID tags: STVG-R1's red numbers at the mask centre, and Set-of-Mark's numbers on filled boxes."""

from __future__ import annotations

import cv2
import numpy as np

from vcprep.renderers.anchors import mask_area, mask_centre, mask_interior_point
from vcprep.renderers.base import FrameRenderer, Objects
from vcprep.renderers.palette import RED, contrasting_text_color, palette_color
from vcprep.renderers.text import FONT, put_centred_text, put_text, stvg_font, text_box


class IdTags(FrameRenderer):
    """STVG-R1's ID tags, exactly: the number only, red, Hershey simplex, anti-aliased, centred at
    the mask centre (box centre without a mask), `font_scale = (20/30) * max(H, W) / 336`,
    `thickness = max(2, int(2 * font_scale))`. Tags are shifted to stay inside the frame."""

    name = "id_tags"
    hint = "Each object in the video carries a red number at its centre giving its ID."

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        font_scale, thickness = stvg_font(scene)
        masks = detections.mask
        for k, (xyxy, track_id) in enumerate(zip(detections.xyxy.tolist(), detections.tracker_id.tolist())):
            centre = mask_centre(None if masks is None else masks[k], xyxy)
            put_centred_text(scene, str(track_id), centre, font_scale, thickness, RED)
        return scene


class IdTagsSom(FrameRenderer):
    """Set-of-Mark tags: the number on a filled box in the ID's palette colour, text in black or
    white for contrast, at the mask's distance-transform maximum (a point surely inside the object).
    Objects are drawn largest first, so the tags of small objects end on top.

    Sizes follow STVG-R1's formula scaled by `size` (so both tag styles read alike); the box's
    padding scales with the text."""

    name = "id_tags_som"
    hint = "Each object in the video carries a number on a coloured box, placed on the object, giving its ID."

    def __init__(self, *, size: float = 0.8, key_frames_only: bool = False, hint: str | None = None) -> None:
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        self.size = size

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        base_scale, _ = stvg_font(scene)
        font_scale = base_scale * self.size
        thickness = max(1, int(round(2 * font_scale)))
        H, W = scene.shape[:2]
        masks = [None if detections.mask is None else detections.mask[k] for k in range(len(detections))]
        boxes = detections.xyxy.tolist()
        order = sorted(range(len(detections)), key=lambda k: -mask_area(masks[k], boxes[k]))
        for k in order:
            text = str(int(detections.tracker_id[k]))
            anchor = mask_interior_point(masks[k], boxes[k])
            (w, h), base = cv2.getTextSize(text, FONT, font_scale, thickness)
            pad = max(1, int(round(0.3 * h)))
            # centre the padded box on the anchor, then keep the whole box inside the frame
            bw, bh = w + 2 * pad, h + base + 2 * pad
            bx = min(max(int(round(anchor[0] - bw / 2)), 0), max(0, W - bw))
            by = min(max(int(round(anchor[1] - bh / 2)), 0), max(0, H - bh))
            color = palette_color(int(detections.tracker_id[k]))
            cv2.rectangle(scene, (bx, by), (bx + bw - 1, by + bh - 1), color, -1)
            x, y, _, _, _ = text_box(text, (bx + bw / 2, by + pad + h / 2), font_scale, thickness, (H, W))
            put_text(scene, text, (x, y), font_scale, thickness, contrasting_text_color(color))
        return scene
