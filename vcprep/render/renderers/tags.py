"""ID tags: STVG-R1's red numbers at the mask centre, and Set-of-Mark's numbers on filled boxes."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from vcprep.render.renderers.anchors import box_centre, interior_points, mask_centres, stvg_r1_anchor
from vcprep.render.renderers.base import FrameRenderer, Objects
from vcprep.render.renderers.extents import extents_of
from vcprep.render.renderers.kernels import check_engine
from vcprep.render.renderers.palette import RED, contrasting_text_color, palette_color
from vcprep.render.renderers.text import FONT, put_centred_text, put_text, stvg_font

PLACEMENTS = ("centred", "stvg_r1")


class IdTags(FrameRenderer):
    """STVG-R1's ID tags: the number only, red, Hershey simplex, anti-aliased,
    `font_scale = (20/30) * max(H, W) / 336`, `thickness = max(2, int(2 * font_scale))`.

    `placement`:
    - `centred` (default): the text's box centred on the mask centre (box centre without a mask)
      and shifted to stay inside the frame, so every tag is whole and on its object;
    - `stvg_r1`: exactly as STVG-R1's `mask2marker.py` draws it: `cv2.putText`'s origin (the text's
      bottom-left corner) at its own anchor (`anchors.stvg_r1_anchor`), no shift into the frame, and
      nothing drawn for an object without a mask pixel. Its ink lands up and to the right of the
      centre (about (+13, -14) px at 640x360). Use it to train on data laid out as the paper's was.
    `engine` (see `kernels`) finds the centres of all masks in one compiled call, or with OpenCV."""

    name = "id_tags"
    hint = "Each object in the video carries a red number at its centre giving its ID."

    def __init__(self, *, placement: str = "centred", engine: str = "auto", key_frames_only: bool = False,
                 hint: str | None = None) -> None:
        """
        Args:
            placement: `centred` (the text centred on the mask centre, kept inside the frame) or `stvg_r1`
                (STVG-R1's `cv2.putText` origin at its anchor, exactly as the paper's data).
            engine: `auto`, `numba` or `opencv`: how mask centres are found (the same pixels).
        """
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
        self.placement = placement
        self.engine = check_engine(engine)

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        font_scale, thickness = stvg_font(scene)
        if self.placement == "stvg_r1":
            return self._annotate_stvg_r1(scene, detections, font_scale, thickness)
        boxes = detections.xyxy.tolist()
        if detections.mask is None:
            centres = [box_centre(xyxy) for xyxy in boxes]
        else:
            centres = mask_centres(detections.mask, extents_of(detections)[0], boxes, engine=self.engine)
        for centre, track_id in zip(centres, detections.tracker_id.tolist()):
            put_centred_text(scene, str(track_id), centre, font_scale, thickness, RED)
        return scene

    @staticmethod
    def _annotate_stvg_r1(scene: np.ndarray, detections: Objects, font_scale: float, thickness: int) -> np.ndarray:
        if detections.mask is None:  # box trackers: the box is the mask
            masks = []
            for x1, y1, x2, y2 in detections.xyxy.tolist():
                m = np.zeros(scene.shape[:2], bool)
                m[max(0, int(y1)):max(0, int(y2)), max(0, int(x1)):max(0, int(x2))] = True
                masks.append(m)
        else:
            masks = list(detections.mask)
        for mask, track_id in zip(masks, detections.tracker_id.tolist()):
            anchor = stvg_r1_anchor(mask)
            if anchor is not None:
                put_text(scene, str(track_id), anchor, font_scale, thickness, RED)
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
        """
        Args:
            size: text size as a multiple of STVG-R1's ID tag formula.
        """
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        self.size = size

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        font_scale = stvg_font(scene)[0] * self.size
        thickness = max(1, int(round(2 * font_scale)))
        H, W = scene.shape[:2]
        boxes = detections.xyxy.tolist()
        ids = detections.tracker_id.tolist()
        if detections.mask is None:  # the box is the mask
            anchors = [box_centre(box) for box in boxes]
            areas = [max(0.0, x2 - x1) * max(0.0, y2 - y1) for x1, y1, x2, y2 in boxes]
        else:
            mask_boxes, areas = extents_of(detections)
            anchors = interior_points(list(detections.mask), mask_boxes, boxes)
        for k in sorted(range(len(boxes)), key=lambda k: -areas[k]):  # largest first
            ax, ay = anchors[k]
            tag = som_tag(ids[k], font_scale, thickness)
            bh, bw = tag.shape[:2]
            # centre the tag on the anchor, then keep it inside the frame
            bx = min(max(round(ax - bw / 2), 0), max(0, W - bw))
            by = min(max(round(ay - bh / 2), 0), max(0, H - bh))
            if bw <= W and bh <= H:
                scene[by : by + bh, bx : bx + bw] = tag
            else:  # a tag larger than the frame: what fits
                region = scene[by : by + bh, bx : bx + bw]
                region[:] = tag[: region.shape[0], : region.shape[1]]
        return scene


@lru_cache(maxsize=4096)
def som_tag(track_id: int, font_scale: float, thickness: int) -> np.ndarray:
    """[h, w, 3] uint8, read-only: a Set-of-Mark tag, the ID centred on a box filled with its palette
    colour, in black or white for contrast, the box padded by 0.3 of the text's height.

    A tag is opaque, so it looks the same wherever it lands: made once per ID and size (a video shows
    the same IDs at the same size on every frame) and then copied onto each frame, which costs a
    fraction of filling the box and blending the glyphs anew. Glyph rims that would reach past the
    box are cut at its edge.
    """
    text, color = str(track_id), palette_color(track_id)
    (w, h), base = cv2.getTextSize(text, FONT, font_scale, thickness)
    pad = max(1, int(round(0.3 * h)))
    tag = np.empty((h + base + 2 * pad, w + 2 * pad, 3), np.uint8)
    tag[:] = color
    put_text(tag, text, (pad, pad + h), font_scale, thickness, contrasting_text_color(color))
    tag.flags.writeable = False
    return tag
