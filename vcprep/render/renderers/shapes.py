"""Outlines per object: boxes and VisionCoach's red circle (translucent masks: `mask_overlay.py`)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from vcprep.core.types import Clip
from vcprep.render.renderers.base import FOCUS_MODES, FrameRenderer, Objects
from vcprep.render.renderers.palette import RED, palette_color
from vcprep.render.renderers.text import scale_for


def line_px(scene: np.ndarray, thickness: int | None) -> int:
    """Line width: 2 px at 320 px (longer side), growing with resolution, unless given."""
    return thickness or max(1, round(scale_for(scene, 320.0) * 2))


class Boxes(FrameRenderer):
    """A box outline per object, coloured by ID from the shared palette; line width scales with resolution.

    Axis-aligned lines gain nothing visible from anti-aliasing, which costs 3x: off by default."""

    name = "boxes"
    hint = "Each object in the video is outlined by a box whose colour identifies it."

    def __init__(
        self,
        *,
        thickness: int | None = None,
        antialias: bool = False,
        key_frames_only: bool = False,
        hint: str | None = None,
    ) -> None:
        """
        Args:
            thickness: line width in pixels (None: scaled with the frame's size).
            antialias: anti-aliased lines (3x the cost, little visible on axis-aligned lines).
        """
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        self.thickness = thickness
        self.line_type = cv2.LINE_AA if antialias else cv2.LINE_8

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        t = line_px(scene, self.thickness)
        # Python lists: indexing numpy scalars one by one costs more than drawing the rectangle
        for (x1, y1, x2, y2), track_id in zip(detections.xyxy.tolist(), detections.tracker_id.tolist()):
            cv2.rectangle(
                scene,
                (round(x1), round(y1)),
                (round(x2) - 1, round(y2) - 1),
                palette_color(track_id),
                t,
                self.line_type,
            )
        return scene


class Circle(FrameRenderer):
    """VisionCoach's red circle: a red ellipse around each key object. The ellipse is the one that
    passes through the (padded) box's corners with the box's aspect (semi-axes = half-sides * sqrt 2),
    so it encloses the object without covering it. VisionCoach did not release its parameters.
    The outline is filled as a ring (see `_ellipse_ring`). Anti-aliased edges cost more and show
    little on a red line; `antialias` turns them on."""

    name = "circle"
    hint = "The key objects are circled in red; focus on the circled regions."

    def __init__(
        self,
        *,
        focus: str = "target",
        pad_px: int = 0,
        thickness: int | None = None,
        antialias: bool = False,
        key_frames_only: bool = False,
        hint: str | None = None,
    ) -> None:
        """
        Args:
            focus: `target` circles the sample's target, `all` every key object.
            pad_px: pixels added around the box before the ellipse is fitted through its corners.
            thickness: line width in pixels (None: scaled with the frame's size).
            antialias: anti-aliased edges.
        """
        super().__init__(key_frames_only=key_frames_only, hint=hint)
        if focus not in FOCUS_MODES:
            raise ValueError(f"focus must be one of {FOCUS_MODES}, got {focus!r}")
        self.focus = focus
        self.pad_px = pad_px
        self.thickness = thickness
        self.line_type = cv2.LINE_AA if antialias else cv2.LINE_8

    def select(self, clip: Clip, i: int) -> Objects:
        return self.select_focus(clip, i, self.focus)

    def annotate(self, scene: np.ndarray, detections: Objects) -> np.ndarray:
        t = line_px(scene, self.thickness)
        for x1, y1, x2, y2 in detections.xyxy.tolist():
            centre = (int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2)))
            axes = (
                int(round((x2 - x1) / 2 * math.sqrt(2))) + self.pad_px,
                int(round((y2 - y1) / 2 * math.sqrt(2))) + self.pad_px,
            )
            _ellipse_ring(scene, centre, axes, t, self.line_type)
        return scene


def _ellipse_ring(scene: np.ndarray, centre: tuple[int, int], axes: tuple[int, int], t: int, line_type: int) -> None:
    """A red ellipse outline `t` px wide: the ring between the ellipses with semi-axes +/- t/2, filled
    in one scan. `cv2.ellipse` strokes the same curve as a chain of round-capped segments, which
    covers the same band (to a pixel on its rims) at 1.4x the cost for thick lines."""
    h = t / 2
    outer = cv2.ellipse2Poly(centre, (round(axes[0] + h), round(axes[1] + h)), 0, 0, 360, 2)
    inner_axes = (round(axes[0] - h), round(axes[1] - h))
    if min(inner_axes) < 1:  # a line wider than the ellipse: a filled blob, as the stroke would be
        cv2.fillPoly(scene, [outer], RED, line_type)
        return
    cv2.fillPoly(scene, [outer, cv2.ellipse2Poly(centre, inner_axes, 0, 0, 360, 2)], RED, line_type)
