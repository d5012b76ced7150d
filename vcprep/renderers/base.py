"""The renderer interface: a variant is a chain of renderers, each `render(clip) -> clip`.

Most renderers draw on each frame alone: they subclass `FrameRenderer` and implement
`annotate(scene, detections)` like supervision's annotators. `select` decides which objects
a renderer sees (all tracked objects by default, the focus objects for a spotlight).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import supervision as sv

from vcprep.types import Clip


def scale_for(scene: np.ndarray, reference_px: float = 336.0) -> float:
    """Resolution factor so text and lines read the same at 320 px and 1920 px."""
    return max(scene.shape[:2]) / reference_px


class Renderer:
    """Base of all renderers. `hint` is appended to the question when this prompt is used."""

    name: ClassVar[str] = "renderer"
    hint: ClassVar[str] = ""

    def render(self, clip: Clip) -> Clip:
        return clip

    def crop_span(
        self, gt_span: tuple[float, float] | None, clip_span: tuple[float, float]
    ) -> tuple[float, float]:
        """Time span (seconds) the frames of this variant are sampled from; default: unchanged."""
        return clip_span


class FrameRenderer(Renderer):
    def __init__(self, *, key_frames_only: bool = False) -> None:
        self.key_frames_only = key_frames_only

    def select(self, clip: Clip, i: int) -> sv.Detections:
        ids = clip.track_ids[i]
        return sv.Detections(
            xyxy=np.asarray(clip.boxes[i], np.float32).reshape(-1, 4),
            tracker_id=np.asarray(ids, np.int64).reshape(-1),
            mask=None if clip.masks is None else clip.masks[i],
        )

    def annotate(self, scene: np.ndarray, detections: sv.Detections) -> np.ndarray:
        raise NotImplementedError

    def render(self, clip: Clip) -> Clip:
        images = []
        for i, scene in enumerate(clip.images):
            if self.key_frames_only and not clip.key_frame[i]:
                images.append(scene)
            else:
                images.append(self.annotate(scene.copy(), self.select(clip, i)))
        out = clip.subset(list(range(len(clip))))
        out.images = images
        return out
