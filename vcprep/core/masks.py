"""Binary masks: COCO-style run-length strings for storage, and the overlap measures SAM2 tracking needs.

Masks are stored as text so a Tracks table stays one flat Parquet file; the string is
`"{height}x{width}:{counts}"` where `counts` is COCO's compressed RLE (column-major runs,
starting with a run of zeros), so it can be decoded with pycocotools too once split off.
"""

from __future__ import annotations

import numpy as np


def _counts_to_string(counts: list[int]) -> str:
    """COCO's LEB128-like text encoding of run lengths (maskApi.c rleToString)."""
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = x != -1 if ch & 0x10 else x != 0
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
    return "".join(out)


def _string_to_counts(s: str) -> list[int]:
    """Run lengths from COCO's text encoding (maskApi.c rleFrString), vectorised: a mask's string is
    a few hundred characters, and a Python loop over them cost more than decoding the pixels."""
    if not s:
        return []
    c = np.frombuffer(s.encode("ascii"), np.uint8).astype(np.int64) - 48
    ends = np.flatnonzero((c & 0x20) == 0)  # the last character of each number
    starts = np.concatenate([[0], ends[:-1] + 1])
    k = np.arange(len(c)) - np.repeat(starts, ends - starts + 1)  # 5-bit group within its number
    x = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    negative = (c[ends] & 0x10) != 0  # sign bit of the last group: extend it
    x[negative] -= np.left_shift(1, 5 * (ends - starts + 1))[negative]
    # from the fourth number on, each is stored as the difference to the one two places back
    x[3::2] = np.cumsum(x[1::2])[1:] if len(x) > 3 else x[3::2]
    x[4::2] = np.cumsum(x[2::2])[1:] if len(x) > 4 else x[4::2]
    return x.tolist()


def rle_encode(mask: np.ndarray) -> str:
    """Binary mask [H, W] -> `"HxW:counts"` (COCO compressed RLE, column-major)."""
    h, w = mask.shape
    flat = np.asarray(mask, bool).flatten(order="F")
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0, *runs]
    return f"{h}x{w}:{_counts_to_string([int(r) for r in runs])}"


def _rle_counts(rle: str) -> tuple[int, int, np.ndarray]:
    """`"HxW:counts"` -> (H, W, run lengths as int64), checked to cover the H x W pixels."""
    size, _, text = rle.partition(":")
    h, w = (int(v) for v in size.split("x"))
    counts = np.asarray(_string_to_counts(text), np.int64)
    if counts.sum() != h * w:
        raise ValueError(f"mask RLE covers {int(counts.sum())} pixels, expected {h}x{w}")
    return h, w, counts


def rle_decode(rle: str) -> np.ndarray:
    """`"HxW:counts"` -> binary mask [H, W] (bool)."""
    h, w, counts = _rle_counts(rle)
    values = np.zeros(len(counts), bool)
    values[1::2] = True
    return np.repeat(values, counts).reshape((w, h)).T


def rle_decode_crop(rle: str) -> tuple[np.ndarray, int, int, tuple[int, int]] | None:
    """The mask's bounding-box part, decoded: (uint8 [h, w] of 0/1, C-contiguous, x0, y0, (H, W) of the
    whole mask), or None for an empty mask.

    The box comes from the runs themselves (column-major: a run's first and last pixel give its
    columns, and its rows unless it wraps to the next column), so nothing outside it is copied or
    warped: a person's mask is a few percent of the frame.
    """
    h, w, counts = _rle_counts(rle)
    ends = np.cumsum(counts)
    first, length = (ends - counts)[1::2], counts[1::2]  # foreground runs
    first, last = first[length > 0], (first + length - 1)[length > 0]
    if not len(first):
        return None
    col_a, col_b = first // h, last // h
    one_col = col_a == col_b
    x0, x1 = int(col_a.min()), int(col_b.max()) + 1
    y0 = int(np.where(one_col, first % h, 0).min())
    y1 = int(np.where(one_col, last % h, h - 1).max()) + 1
    # expand only the runs of the box's columns, cut at their ends
    lo, hi = x0 * h, x1 * h
    keep = np.flatnonzero((ends > lo) & (ends - counts < hi))
    lengths = np.minimum(ends[keep], hi) - np.maximum(ends[keep] - counts[keep], lo)
    columns = np.repeat((keep % 2).astype(np.uint8), lengths).reshape((x1 - x0, h)).T  # [h, x1 - x0]
    return np.ascontiguousarray(columns[y0:y1]), x0, y0, (h, w)


def rle_area(rle: str) -> int:
    """Foreground pixels without decoding the mask."""
    counts = _string_to_counts(rle.partition(":")[2])
    return int(sum(counts[1::2]))


def mask_box(mask: np.ndarray) -> np.ndarray | None:
    """Tight xyxy box (pixel edges) of a binary mask, or None when it is empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def mask_overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IoU [Na, Nb] and containment [Na, Nb] = |a ∩ b| / min(|a|, |b|) of two mask stacks [N, H, W]."""
    fa = np.asarray(a, bool).reshape(len(a), -1).astype(np.float32)
    fb = np.asarray(b, bool).reshape(len(b), -1).astype(np.float32)
    inter = fa @ fb.T
    area_a, area_b = fa.sum(1)[:, None], fb.sum(1)[None, :]
    union = area_a + area_b - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    smaller = np.minimum(area_a, area_b)
    contain = np.where(smaller > 0, inter / np.maximum(smaller, 1), 0.0)
    return iou, contain
