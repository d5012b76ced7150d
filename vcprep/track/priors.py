"""Person-shape priors: boxes no standing or walking person can have are dropped before tracking.

A sliding-window detector fires on textures (a road, a wall) at its largest pyramid scales, which
gives giant boxes that a tracker then keeps alive; a prior on size, aspect and position removes
them at no cost. Limits are fractions of the frame, so one recipe fits any resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PersonPriors:
    """Bounds on a person's box; the defaults drop nothing a person could plausibly be."""

    max_height_fraction: float = 1.0
    """Box height at most this share of the frame height (0.5 on a wide street view)."""
    min_height_px: float = 0.0
    """Boxes shorter than this many pixels are dropped (noise at the smallest scale)."""
    min_aspect: float = 0.0
    """Width / height at least this (a person is not a thin sliver)."""
    max_aspect: float = 10.0
    """Width / height at most this (a standing person is taller than wide: about 0.25-0.8)."""
    min_bottom_fraction: float = 0.0
    """The box's bottom edge (the feet) at or below this share of the frame height (0: anywhere)."""

    def keep(self, xyxy: np.ndarray, frame_height_px: int) -> np.ndarray:
        """Boolean mask [N] of the boxes that satisfy every bound."""
        w = xyxy[:, 2] - xyxy[:, 0]
        h = np.maximum(xyxy[:, 3] - xyxy[:, 1], 1e-6)
        aspect = w / h
        return ((h <= self.max_height_fraction * frame_height_px) & (h >= self.min_height_px)
                & (aspect >= self.min_aspect) & (aspect <= self.max_aspect)
                & (xyxy[:, 3] >= self.min_bottom_fraction * frame_height_px))
