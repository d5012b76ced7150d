"""Compiled per-pixel kernels (numba) for the renderers whose cost is per object, not per frame.

OpenCV's calls each do one simple step over a box-sized crop (a blend, a masked copy), and a renderer
that draws eight objects makes dozens of them a frame: at 640x360 their fixed cost and their passes
over the same crops cost more than a full-frame pass. A kernel here does the same arithmetic in one
pass over each crop and one call a frame. Each has a plain OpenCV twin beside its caller (`Masks`,
`anchors.mask_centres`), used where numba is missing or `engine="opencv"` is asked for; tests check
both give the same pixels.

numba is imported, and the kernels compiled (or loaded from numba's on-disk cache), on first use,
not when `vcprep` is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

ENGINES = ("auto", "numba", "opencv")
"""`auto`: numba when it is installed, else OpenCV; `numba` insists on it; `opencv` never uses it."""


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "numba" and not numba_available():
        raise ImportError("engine='numba' needs numba (pip install numba, or the package's `prep` extra)")
    return engine


@lru_cache(maxsize=1)
def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def use_numba(engine: str) -> bool:
    return engine == "numba" or (engine == "auto" and numba_available())


@lru_cache(maxsize=1)
def fill_and_outline() -> Callable[..., Any]:
    """The compiled `_fill_and_outline` (see there). `contract` lets the compiler fuse the blend's
    multiply and add into one instruction (one rounding), as OpenCV's vector code does on CPUs with FMA:
    the pixels then equal `cv2.addWeighted`'s; without FMA both round twice."""
    import numba

    options = {"nogil": True, "fastmath": {"contract"}}
    try:  # compiled once, then loaded from numba's cache (beside this file, or the user's cache folder)
        return numba.njit(cache=True, **options)(_fill_and_outline)
    except RuntimeError:  # neither folder writable: compile in each process
        return numba.njit(**options)(_fill_and_outline)


def _fill_and_outline(scene, cover, crops, colours, weighted, keep) -> None:  # type: ignore[no-untyped-def]
    """Translucent masks with outlines, in place, object after object in the order of `crops`.

    scene:    [H, W*3] uint8, the frame with its channels flattened into the row.
    cover:    [h, w*3] uint8, per byte of the objects' crops laid side by side: 0 leave, 1 blend, 2 paint.
    crops:    [N, 7] int64 rows (xa, ya, xb, yb, x in `cover`, y in `cover`, object index).
    colours:  [K, w_max*3] uint8, each object's colour repeated along a crop row.
    weighted: [K, w_max*3] float32, `colours * opacity`.
    keep:     1 - opacity.

    Blended bytes are `rint(float32(s) * keep + weighted)`, the float32 arithmetic and rounding of
    `cv2.addWeighted(region, keep, tile, opacity, 0)`, so both engines give the same pixels. The inner
    loop runs over the bytes of a row with no branch the compiler cannot turn into a select, so it
    vectorises (a loop over pixels and their three channels does not, and costs as much as OpenCV).
    """
    k32 = np.float32(keep)
    for j in range(crops.shape[0]):
        xa, ya, xb, yb, cx, cy, obj = crops[j]
        n = 3 * (xb - xa)
        paint = colours[obj]
        blend = weighted[obj]
        for y in range(yb - ya):
            row = scene[ya + y, 3 * xa : 3 * xa + n]
            what = cover[cy + y, 3 * cx : 3 * cx + n]
            for i in range(n):
                s = row[i]
                blended = np.uint8(np.rint(np.float32(s) * k32 + blend[i]))
                w = what[i]
                row[i] = s if w == 0 else (paint[i] if w == 2 else blended)


@lru_cache(maxsize=1)
def mask_centres() -> Callable[..., Any]:
    """The compiled `_mask_centres` (see there)."""
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(_mask_centres)
    except RuntimeError:
        return numba.njit(nogil=True)(_mask_centres)


def _mask_centres(masks, boxes, out) -> None:  # type: ignore[no-untyped-def]
    """STVG-R1's tag anchor of every object: the middle one of the rows that hold mask pixels, and the
    mean x of the mask pixels on it, rounded half to even (Python's `round`).

    masks: [K, H, W] bool. boxes: [K, 4] int64 tight boxes of the masks (x0, y0, x1, y1, ends exclusive).
    out:   [K, 2] int64, written (x, y); (-1, -1) for an empty mask.
    Each row is scanned only up to its first mask pixel, except the chosen one.
    """
    for k in range(boxes.shape[0]):
        x0, y0, x1, y1 = boxes[k]
        out[k, 0] = out[k, 1] = -1
        rows = 0
        for y in range(y0, y1):
            for x in range(x0, x1):
                if masks[k, y, x]:
                    rows += 1
                    break
        seen = 0
        for y in range(y0, y1):
            held = False
            for x in range(x0, x1):
                if masks[k, y, x]:
                    held = True
                    break
            if not held:
                continue
            if seen == rows // 2:
                total = 0
                count = 0
                for x in range(x0, x1):
                    if masks[k, y, x]:
                        total += x
                        count += 1
                out[k, 0] = np.int64(np.rint(total / count))
                out[k, 1] = y
                break
            seen += 1
