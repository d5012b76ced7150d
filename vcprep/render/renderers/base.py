"""The renderer interface: a variant is a chain of renderers, each `render(clip) -> clip`.

Most renderers draw on each frame alone: they subclass `FrameRenderer` and implement
`annotate(scene, detections)` like supervision's annotators. `select` decides which objects
a renderer sees (all tracked objects by default, the key objects for a spotlight or circle).
Every renderer carries the text `hint` appended to the question when its prompt is used; a
recipe may replace it (`hint: "..."` among the renderer's parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from vcprep.core.types import Clip
from vcprep.render.renderers.text import scale_for

FOCUS_MODES = ("target", "all")
"""`target`: the sample's target (its track, or the ground-truth box where none matched);
`all`: every key object of the sample (`Clip.key_boxes`), or every tracked object when the
sample names none."""


class Renderer:
    """Base of all renderers. `hint` is appended to the question when this prompt is used."""

    name: ClassVar[str] = "renderer"
    hint: str = ""

    def __init__(self, *, hint: str | None = None) -> None:
        """
        Args:
            hint: text appended to the question when this prompt is used (None: the renderer's own hint).
        """
        if hint is not None:
            self.hint = hint

    def render(self, clip: Clip, *, owned: Sequence[bool] | None = None) -> Clip:
        """`clip` with this prompt drawn. `owned[i]` True: frame i was made by an earlier renderer of
        the same chain (see `render_chain`), so it may be drawn on in place; other frames are never
        modified (a decoded frame is shared by all variants of a sample)."""
        return clip

    def crop_span(self, gt_span: tuple[float, float] | None, clip_span: tuple[float, float]) -> tuple[float, float]:
        """Time span (seconds) the frames of this variant are sampled from; default: unchanged."""
        return clip_span


@dataclass(frozen=True, slots=True)
class Objects:
    """The objects a renderer draws on one frame: the fields of supervision's `Detections` that
    renderers read (an `sv.Detections` works in their place). Built once per frame and renderer,
    so without `Detections`' validation, which costs about as much as drawing all the boxes."""

    xyxy: np.ndarray  # [K, 4] float32, frame pixels
    tracker_id: np.ndarray  # [K] int64; 0 for objects without a track
    mask: np.ndarray | None = None  # [K, H, W] bool, or None (boxes only)
    mask_box: np.ndarray | None = None  # [K, 4] int32 tight box of each mask (see `extents`), or None
    mask_area: np.ndarray | None = None  # [K] int64 pixels of each mask, or None: computed when needed

    def __len__(self) -> int:
        return len(self.xyxy)


def _detections(
    boxes: np.ndarray,
    ids: np.ndarray | None = None,
    masks: np.ndarray | None = None,
    mask_boxes: np.ndarray | None = None,
    mask_areas: np.ndarray | None = None,
) -> Objects:
    xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
    if ids is None:  # objects without a track (ground-truth boxes) still need an ID for colours
        ids = np.zeros(len(xyxy), np.int64)
    return Objects(xyxy, np.asarray(ids, np.int64).reshape(-1), masks, mask_boxes, mask_areas)


class FrameRenderer(Renderer):
    """A renderer that draws each frame on its own; `key_frames_only` leaves non-key frames untouched
    (VisionCoach draws its prompts only on annotated key frames)."""

    copies_input: ClassVar[bool] = True
    """False for renderers whose `draw` returns a new array and never writes to a frame it does not
    own, which then saves the frame copy."""

    def __init__(self, *, key_frames_only: bool = False, hint: str | None = None) -> None:
        """
        Args:
            key_frames_only: draw only on the sample's annotated key frames, leave the others untouched (VisionCoach
                draws its prompts on key frames only).
            hint: text appended to the question when this prompt is used (None: the renderer's own hint).
        """
        super().__init__(hint=hint)
        self.key_frames_only = key_frames_only

    def select(self, clip: Clip, i: int) -> Objects:
        """All tracked objects of frame i, with their masks where the tracker made some."""
        if clip.masks is None or clip.masks[i] is None:
            return _detections(clip.boxes[i], clip.track_ids[i])
        boxes, areas = clip.mask_boxes, clip.mask_areas  # the masks' extents, where mask preparation made them
        return _detections(
            clip.boxes[i], clip.track_ids[i], clip.masks[i], None if boxes is None else boxes[i],
            None if areas is None else areas[i],
        )  # fmt: skip

    def select_focus(self, clip: Clip, i: int, focus: str) -> Objects:
        """The key objects of frame i: the target alone (`target`) or all key objects (`all`).

        A sample may override the renderer's choice through `Clip.focus`.
        """
        focus = clip.focus or focus
        if focus not in FOCUS_MODES:
            raise ValueError(f"focus must be one of {FOCUS_MODES}, got {focus!r}")
        if focus == "all":
            if clip.key_boxes is not None:
                return _detections(clip.key_boxes[i])
            return _detections(clip.boxes[i], clip.track_ids[i])
        return _detections(clip.focus_boxes[i])

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        raise NotImplementedError

    def annotate_frame(self, scene: np.ndarray, clip: Clip, i: int) -> np.ndarray:
        """Draw frame i of `clip` on `scene` (a copy, free to modify); returns the drawn frame."""
        return self.annotate(scene, self.select(clip, i))

    def draw(self, scene: np.ndarray, clip: Clip, i: int, writable: bool) -> np.ndarray:
        """Frame i drawn. `scene` may be modified only when `writable` (the chain's own frame); else
        it is copied first, unless the renderer builds its output as a new array anyway."""
        if not writable and self.copies_input:
            scene = scene.copy()
        return self.annotate_frame(scene, clip, i)

    def render(self, clip: Clip, *, owned: Sequence[bool] | None = None) -> Clip:
        images = []
        for i, scene in enumerate(clip.images):
            if self.key_frames_only and not clip.key_frame[i]:
                images.append(scene)
            else:
                images.append(self.draw(scene, clip, i, owned is not None and bool(owned[i])))
        out = clip.subset(list(range(len(clip))))
        out.images = images
        return out


def render_chain(chain: Sequence[Renderer], clip: Clip) -> Clip:
    """`clip` through the renderers in order, each frame copied at most once.

    The first renderer that draws on a frame makes a new array of it (a copy, or its own output);
    later renderers draw on that array in place, as it belongs to this chain. The input clip's
    frames are never modified. Intermediate clips share those arrays: only the result is meant to
    be used.
    """
    owned = [False] * len(clip)
    for renderer in chain:
        before = clip.images
        clip = renderer.render(clip, owned=owned)
        if len(clip.images) != len(before):  # a renderer that changed the frames: own none of them
            owned = [False] * len(clip)
            continue
        owned = [o or a is not b for o, a, b in zip(owned, clip.images, before)]
    return clip


__all__ = ["FOCUS_MODES", "FrameRenderer", "Objects", "Renderer", "render_chain", "scale_for"]
