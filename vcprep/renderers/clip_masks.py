"""Masks for the frames of a clip, from the tracks' run-length masks.

Tracks hold masks on tracked frames only (every few source frames), in source pixels; a clip's
frames are sampled by time and stored smaller. Each object's mask comes from the nearest tracked
frame (within `max_gap` frames), is shifted by how far the object's box moved in between (masks
cannot be interpolated, boxes can), and is resized to the stored frame. An object with no mask
nearby gets its box as mask, so every renderer still sees it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vcprep.masks import rle_decode_crop
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
    None when the tracker made no masks (renderers then use boxes).

    Only each mask's bounding box is decoded and warped (a whole-frame warp costs tens of times more,
    for a mask a few percent of the frame), each tracked mask once per clip, and rows are looked up in
    an index of the tracked frames this clip needs rather than by scanning the video's rows per object.
    """
    if tracks.mask_rle is None or not any(tracks.mask_rle):
        return None
    width, height = size
    has_mask = np.array([m is not None and m != "" for m in tracks.mask_rle], bool)
    mask_frames = np.unique(tracks.frame_index[has_mask])
    nearest = []  # per clip frame: tracked frames with masks within `max_gap`, nearest first
    for f in frame_indices:
        pos = np.searchsorted(mask_frames, f)
        near = [int(mask_frames[p]) for p in (pos - 1, pos) if 0 <= p < len(mask_frames)]
        nearest.append(sorted((g for g in near if abs(g - f) <= max_gap), key=lambda g: abs(g - f)))
    needed = sorted({g for near in nearest for g in near})
    rows = np.flatnonzero(has_mask & np.isin(tracks.frame_index, needed))
    index: dict[tuple[int, int], int] = {}
    for r, g, t in zip(rows.tolist(), tracks.frame_index[rows].tolist(), tracks.track_id[rows].tolist()):
        index.setdefault((g, t), r)  # the first row of a (frame, track), as a scan would find
    decoded: dict[int, tuple[np.ndarray, int, int, tuple[int, int]] | None] = {}
    out = []
    for near, ids, frame_boxes in zip(nearest, track_ids, boxes):
        masks = np.zeros((len(ids), height, width), bool)
        for k, (track_id, box) in enumerate(zip(np.asarray(ids).tolist(), np.asarray(frame_boxes).tolist())):
            r = next((index[(g, track_id)] for g in near if (g, track_id) in index), None)
            if r is None:
                masks[k] = _box_mask(np.asarray(box), height, width)
                continue
            if r not in decoded:
                decoded[r] = rle_decode_crop(tracks.mask_rle[r])
            if decoded[r] is None:  # an empty mask stays empty
                continue
            part, cx, cy, (src_h, src_w) = decoded[r]
            sx, sy = width / src_w, height / src_h
            # shift so the mask follows the box from its tracked frame to this one
            tx1, ty1, tx2, ty2 = tracks.xyxy[r].tolist()
            dx = (box[0] + box[2]) / 2 - (tx1 + tx2) / 2 * sx
            dy = (box[1] + box[3]) / 2 - (ty1 + ty2) / 2 * sy
            # where the crop lands, a pixel to spare on each side, inside the frame
            x0, x1 = max(0, math.floor(cx * sx + dx) - 1), min(width, math.ceil((cx + part.shape[1]) * sx + dx) + 1)
            y0, y1 = max(0, math.floor(cy * sy + dy) - 1), min(height, math.ceil((cy + part.shape[0]) * sy + dy) + 1)
            if x1 <= x0 or y1 <= y0:
                continue  # moved out of the frame
            warp = np.float32([[sx, 0, dx + sx * cx - x0], [0, sy, dy + sy * cy - y0]])
            warped = cv2.warpAffine(part, warp, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST)
            masks[k, y0:y1, x0:x1] = warped.view(bool)
        out.append(masks)
    return out
