"""One deterministic colour per track ID, shared by every renderer so an ID looks the same everywhere."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

RED = (255, 0, 0)  # frames are RGB
BLACK = (0, 0, 0)
WHITE = (255, 255, 255)


@lru_cache(maxsize=4096)
def palette_color(track_id: int) -> tuple[int, int, int]:
    """RGB colour of `track_id`: a golden-angle walk over hue at high saturation and value.

    Consecutive IDs land far apart on the hue circle, and the colour depends on the ID alone
    (not on the frame, the variant or how many objects there are), so it is stable across a video.
    """
    hue = int((int(track_id) * 137.508) % 180)
    hsv = np.array([[[hue, 220, 255]]], np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def contrasting_text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `background` (Rec. 601 luma threshold)."""
    r, g, b = background
    return BLACK if 0.299 * r + 0.587 * g + 0.114 * b >= 140 else WHITE


_TILES: dict[tuple[int, int, int], np.ndarray] = {}


def colour_tile(color: tuple[int, int, int], height: int, width: int) -> np.ndarray:
    """[height, width, 3] uint8 view filled with `color`, read-only use.

    OpenCV blends and masked copies take a second image, not a colour; filling one per object and
    frame would cost more than the blend (numpy fills a tuple colour at ~20 us for a person-sized
    box), so one tile per colour is kept and grown to the largest box asked for.
    """
    tile = _TILES.get(color)
    if tile is None or tile.shape[0] < height or tile.shape[1] < width:
        h = max(height, 0 if tile is None else tile.shape[0])
        w = max(width, 0 if tile is None else tile.shape[1])
        tile = np.empty((h, w, 3), np.uint8)
        tile[:] = color
        if len(_TILES) >= 256:  # bounded: IDs are many over a dataset, a frame shows a few
            _TILES.clear()
        _TILES[color] = tile
    return tile[:height, :width]
