"""The concrete renderers of the first cut: raw, id_tags, boxes, spotlight, temporal_crop."""

from __future__ import annotations

import cv2
import numpy as np
import supervision as sv

from vcprep.renderers.base import FrameRenderer, Renderer, scale_for
from vcprep.types import Clip

RED = (255, 0, 0)  # frames are RGB


def palette_color(track_id: int) -> tuple[int, int, int]:
    """Deterministic, well-separated colour per ID (golden-angle hue walk, full saturation)."""
    hue = int((track_id * 137.508) % 180)
    hsv = np.uint8([[[hue, 220, 255]]])
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def stvg_font(scene: np.ndarray) -> tuple[float, int]:
    """STVG-R1's tag size: font_scale = (20/30) * max(H, W) / 336, thickness = max(2, int(2 * scale))."""
    font_scale = (20 / 30) * max(scene.shape[:2]) / 336
    return font_scale, max(2, int(2 * font_scale))


def mask_centre(mask: np.ndarray | None, xyxy: np.ndarray) -> tuple[int, int]:
    """STVG-R1's anchor: the mask's middle row, mean x of mask pixels on that row; box centre if no mask."""
    if mask is not None and mask.any():
        rows = np.flatnonzero(mask.any(axis=1))
        y = int(rows[len(rows) // 2])
        x = int(round(np.flatnonzero(mask[y]).mean()))
        return x, y
    x1, y1, x2, y2 = xyxy
    return int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2))


def put_centred_text(
    scene: np.ndarray, text: str, centre: tuple[int, int], font_scale: float, thickness: int,
    color: tuple[int, int, int],
) -> tuple[int, int, int, int]:
    """Draw `text` with its box centred on `centre`, shifted to stay inside the frame.

    Returns the text box (x1, y1, x2, y2) actually used.
    """
    font = cv2.FONT_HERSHEY_SIMPLEX
    (w, h), base = cv2.getTextSize(text, font, font_scale, thickness)
    H, W = scene.shape[:2]
    x = int(np.clip(centre[0] - w // 2, 0, max(0, W - w)))
    y = int(np.clip(centre[1] + h // 2, h, max(h, H - base)))
    cv2.putText(scene, text, (x, y), font, font_scale, color, thickness, cv2.LINE_AA)
    return x, y - h, x + w, y + base


class Raw(Renderer):
    name = "raw"
    hint = ""


class IdTags(FrameRenderer):
    """STVG-R1's ID tags: the number only, red, Hershey simplex, anti-aliased, at the mask centre."""

    name = "id_tags"
    hint = "Each object in the video carries a red number at its centre giving its ID."

    def annotate(self, scene: np.ndarray, detections: sv.Detections) -> np.ndarray:
        font_scale, thickness = stvg_font(scene)
        for k in range(len(detections)):
            mask = None if detections.mask is None else detections.mask[k]
            centre = mask_centre(mask, detections.xyxy[k])
            put_centred_text(scene, str(int(detections.tracker_id[k])), centre, font_scale, thickness, RED)
        return scene


class Boxes(FrameRenderer):
    """A box outline per object, coloured by ID; line width scales with resolution."""

    name = "boxes"
    hint = "Each object in the video is outlined by a box whose colour identifies it."

    def __init__(self, *, thickness: int | None = None, key_frames_only: bool = False) -> None:
        super().__init__(key_frames_only=key_frames_only)
        self.thickness = thickness

    def annotate(self, scene: np.ndarray, detections: sv.Detections) -> np.ndarray:
        t = self.thickness or max(1, round(scale_for(scene, 320.0) * 2))
        for k in range(len(detections)):
            x1, y1, x2, y2 = (int(round(v)) for v in detections.xyxy[k])
            color = palette_color(int(detections.tracker_id[k]))
            cv2.rectangle(scene, (x1, y1), (x2 - 1, y2 - 1), color, t, cv2.LINE_AA)
        return scene


class Spotlight(FrameRenderer):
    """VisionCoach's darken prompt: pixels outside the union of padded focus boxes are scaled
    by `factor` (out = img*m + factor*img*(1-m)), hard edges. Frames without a focus box are
    left unchanged (there is nothing to point at)."""

    name = "spotlight"
    hint = "Regions outside the key objects are darkened; focus on the bright regions."

    def __init__(self, *, pad_px: int = 10, factor: float = 0.3, key_frames_only: bool = False) -> None:
        super().__init__(key_frames_only=key_frames_only)
        self.pad_px = pad_px
        self.factor = factor

    def select(self, clip: Clip, i: int) -> sv.Detections:
        return sv.Detections(xyxy=np.asarray(clip.focus_boxes[i], np.float32).reshape(-1, 4))

    def annotate(self, scene: np.ndarray, detections: sv.Detections) -> np.ndarray:
        if len(detections) == 0:
            return scene
        H, W = scene.shape[:2]
        # one full-frame scale, then paste the lit rectangles back: the union needs no mask
        out = cv2.convertScaleAbs(scene, alpha=self.factor)
        for x1, y1, x2, y2 in detections.xyxy:
            xa, ya = max(0, int(np.floor(x1)) - self.pad_px), max(0, int(np.floor(y1)) - self.pad_px)
            xb, yb = min(W, int(np.ceil(x2)) + self.pad_px), min(H, int(np.ceil(y2)) + self.pad_px)
            if xb > xa and yb > ya:
                out[ya:yb, xa:xb] = scene[ya:yb, xa:xb]
        return out


class TemporalCrop(Renderer):
    """Keeps only the ground-truth span plus `margin_seconds` on each side. Frames are sampled
    from that span at the pipeline's rate; their times stay those of the source video."""

    name = "temporal_crop"
    hint = "The video is trimmed to the part where the event happens."

    def __init__(self, *, margin_seconds: float = 1.0) -> None:
        self.margin_seconds = margin_seconds

    def crop_span(
        self, gt_span: tuple[float, float] | None, clip_span: tuple[float, float]
    ) -> tuple[float, float]:
        if gt_span is None:
            return clip_span
        start = max(clip_span[0], gt_span[0] - self.margin_seconds)
        end = min(clip_span[1], gt_span[1] + self.margin_seconds)
        return (start, end) if end > start else clip_span
