"""Golden images: each prompt variant drawn on a stored real frame must look as it did when a person
last approved it (tests/golden/<variant>.png).

The comparison ignores what nobody can see (a level or two of rounding, a few anti-aliased edge
pixels) and fails on anything visible: a tag moved by a pixel, a changed colour, a different
darkening factor, a thicker line.

To accept an intended change, regenerate the images, look at them, and commit them:

    VCPREP_UPDATE_GOLDEN=1 python -m pytest -q tests/test_renderers_golden.py
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from renderer_fixtures import GOLDEN, vtest_clip

from vcprep.render.renderers import build_renderer

UPDATE = os.environ.get("VCPREP_UPDATE_GOLDEN") == "1"

VARIANTS: dict[str, list[tuple[str, dict]]] = {
    "id_tags": [("id_tags", {})],
    "id_tags_som": [("id_tags_som", {})],
    "boxes": [("boxes", {})],
    "masks": [("masks", {})],
    "spotlight": [("spotlight", {})],
    "spotlight_blur_feathered": [("spotlight", {"mode": "blur", "feather_px": 4.0, "focus": "all"})],
    "spotlight_desaturate": [("spotlight", {"mode": "desaturate"})],
    "circle": [("circle", {})],
    "frame_numbers": [("frame_numbers", {"numbering": "source"})],
    "id_tags+spotlight": [("id_tags", {}), ("spotlight", {})],
}


def visible_difference(a: np.ndarray, b: np.ndarray) -> str | None:
    """None when no person could tell the images apart, else what differs."""
    if a.shape != b.shape:
        return f"size {a.shape} != {b.shape}"
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    strong = int((diff > 24).sum())
    if strong > 6:
        return f"{strong} pixels differ by more than 24 levels (max {int(diff.max())})"
    if diff.mean() > 0.5:
        return f"mean difference {diff.mean():.2f} levels"
    return None


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_matches_its_golden_image(variant: str) -> None:
    clip = vtest_clip(320, 240)
    clip.frame_indices = [123]
    for name, params in VARIANTS[variant]:
        clip = build_renderer(name, params).render(clip)
    image = clip.images[0]
    path = GOLDEN / f"{variant}.png"
    if UPDATE:
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    stored = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert stored is not None, f"{path} is missing: regenerate with VCPREP_UPDATE_GOLDEN=1 (see module docstring)"
    problem = visible_difference(image, cv2.cvtColor(stored, cv2.COLOR_BGR2RGB))
    assert problem is None, f"{variant} changed visibly: {problem}; if intended, regenerate {path}"


def test_the_comparison_catches_a_one_pixel_shift_and_a_changed_factor() -> None:
    """The tolerance must not hide real changes: a tag moved by one pixel, darkening 0.3 -> 0.35."""
    clip = vtest_clip(320, 240)
    tagged = build_renderer("id_tags").render(clip).images[0]
    shifted = np.roll(tagged, 1, axis=1)
    shifted[:, 0] = tagged[:, 0]
    assert visible_difference(tagged, shifted) is not None
    dark = build_renderer("spotlight").render(clip).images[0]
    darker = build_renderer("spotlight", {"factor": 0.35}).render(clip).images[0]
    assert visible_difference(dark, darker) is not None
    assert visible_difference(dark, dark.copy()) is None
