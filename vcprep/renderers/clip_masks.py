"""Masks for the frames of a clip, from the tracks' run-length masks.

Tracks hold masks on tracked frames only (every few source frames), in source pixels; a clip's
frames are sampled by time and stored smaller. Each object's mask comes from the nearest tracked
frame (within `max_gap` frames), is shifted by how far the object's box moved in between (masks
cannot be interpolated, boxes can), and is resized to the stored frame. An object with no mask
nearby gets its box as mask, so every renderer still sees it.
"""

from __future__ import annotations

import cv2
import numpy as np

from vcprep.masks import rle_decode
from vcprep.types import Tracks


def _box_mask(box: np.ndarray, height: int, width: int) -> np.ndarray:
    m = np.zeros((height, width), bool)
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    m[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = True
    return m


def masks_for_clip(
    tracks: Tracks,
    frame_indices: list[int],
    track_ids: list[np.ndarray],
    boxes: list[np.ndarray],
    size: tuple[int, int],
    *,
    max_gap: int,
) -> list[np.ndarray] | None:
    """[K, H, W] bool per clip frame, aligned with `track_ids[i]` / `boxes[i]` (stored-frame pixels);
    None when the tracker made no masks (renderers then use boxes)."""
    if tracks.mask_rle is None or not any(tracks.mask_rle):
        return None
    width, height = size
    has_mask = np.array([m is not None and m != "" for m in tracks.mask_rle], bool)
    mask_frames = np.unique(tracks.frame_index[has_mask])
    out = []
    for f, ids, frame_boxes in zip(frame_indices, track_ids, boxes):
        masks = np.zeros((len(ids), height, width), bool)
        pos = np.searchsorted(mask_frames, f)
        near = [int(mask_frames[p]) for p in (pos - 1, pos) if 0 <= p < len(mask_frames)]
        near = sorted((g for g in near if abs(g - f) <= max_gap), key=lambda g: abs(g - f))
        for k, (track_id, box) in enumerate(zip(np.asarray(ids).tolist(), np.asarray(frame_boxes).tolist())):
            rows = []
            for g in near:
                rows = np.flatnonzero((tracks.frame_index == g) & (tracks.track_id == track_id) & has_mask)
                if len(rows):
                    break
            if not len(rows):
                masks[k] = _box_mask(np.asarray(box), height, width)
                continue
            r = int(rows[0])
            src = rle_decode(tracks.mask_rle[r]).astype(np.uint8)
            sx, sy = width / src.shape[1], height / src.shape[0]
            # shift so the mask follows the box from its tracked frame to this one
            tx1, ty1, tx2, ty2 = tracks.xyxy[r].tolist()
            dx = (box[0] + box[2]) / 2 - (tx1 + tx2) / 2 * sx
            dy = (box[1] + box[3]) / 2 - (ty1 + ty2) / 2 * sy
            warp = np.float32([[sx, 0, dx], [0, sy, dy]])
            masks[k] = cv2.warpAffine(src, warp, (width, height), flags=cv2.INTER_NEAREST).astype(bool)
        out.append(masks)
    return out
