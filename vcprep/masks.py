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
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            ch = ord(s[p]) - 48
            x |= (ch & 0x1F) << (5 * k)
            more = bool(ch & 0x20)
            p += 1
            k += 1
            if not more and ch & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


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


def rle_decode(rle: str) -> np.ndarray:
    """`"HxW:counts"` -> binary mask [H, W] (bool)."""
    size, _, text = rle.partition(":")
    h, w = (int(v) for v in size.split("x"))
    counts = _string_to_counts(text)
    values = np.zeros(len(counts), bool)
    values[1::2] = True
    flat = np.repeat(values, counts)
    if flat.size != h * w:
        raise ValueError(f"mask RLE covers {flat.size} pixels, expected {h}x{w}")
    return flat.reshape((w, h)).T


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
