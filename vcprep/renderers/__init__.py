"""Renderers (visual prompts), chosen by name; a variant chains several in order."""

from __future__ import annotations

from typing import Any

from vcprep.registry import Registry
from vcprep.renderers.base import FrameRenderer, Renderer
from vcprep.renderers.draw import Boxes, IdTags, Raw, Spotlight, TemporalCrop

RENDERERS: Registry[Renderer] = Registry("renderer")
for _cls in (Raw, IdTags, Boxes, Spotlight, TemporalCrop):
    RENDERERS.register(_cls.name)(_cls)


def build_renderer(name: str, params: dict[str, Any] | None = None) -> Renderer:
    return RENDERERS.build(name, **(params or {}))


__all__ = ["RENDERERS", "FrameRenderer", "Renderer", "build_renderer"]
