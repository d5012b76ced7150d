"""Renderers (visual prompts), chosen by name; a variant chains several in order.

| name | source | file |
|---|---|---|
| raw, temporal_crop | baseline / this toolkit | temporal.py |
| id_tags, id_tags_som | STVG-R1 / Set-of-Mark | tags.py |
| boxes, circle | common / VisionCoach | shapes.py |
| masks | common (Set-of-Mark style fills) | mask_overlay.py |
| spotlight (darken, blur, desaturate) | VisionCoach / this toolkit | spotlight.py |
| frame_numbers | NumPro (VisionCoach) | frame_numbers.py |
"""

from __future__ import annotations

from typing import Any

from vcprep.core.registry import Registry
from vcprep.core.types import Sample
from vcprep.render.renderers.base import FOCUS_MODES, FrameRenderer, Renderer, render_chain
from vcprep.render.renderers.frame_numbers import FrameNumbers
from vcprep.render.renderers.mask_overlay import Masks
from vcprep.render.renderers.shapes import Boxes, Circle
from vcprep.render.renderers.spotlight import Spotlight
from vcprep.render.renderers.tags import IdTags, IdTagsSom
from vcprep.render.renderers.temporal import Raw, TemporalCrop

RENDERERS: Registry[Renderer] = Registry("renderer")
for _cls in (Raw, IdTags, IdTagsSom, Boxes, Masks, Spotlight, Circle, FrameNumbers, TemporalCrop):
    RENDERERS.register(_cls.name)(_cls)


def build_renderer(name: str, params: dict[str, Any] | None = None) -> Renderer:
    return RENDERERS.build(name, **(params or {}))


def chain_hint(chain: list[Renderer]) -> str:
    """The text hint of a variant: its renderers' hints in order, each once."""
    hints: list[str] = []
    for r in chain:
        if r.hint and r.hint not in hints:
            hints.append(r.hint)
    return " ".join(hints)


def crop_reference(sample: Sample) -> tuple[float, float] | None:
    """Span a temporal crop keeps: `crop_span_seconds` given with the sample, else its ground truth."""
    given = sample.extra.get("crop_span_seconds") if sample.extra else None
    if given is not None:
        start, end = (float(v) for v in given)
        return start, end
    return sample.gt_span_seconds


__all__ = [
    "FOCUS_MODES",
    "RENDERERS",
    "FrameRenderer",
    "Renderer",
    "build_renderer",
    "chain_hint",
    "crop_reference",
    "render_chain",
]
