"""Masks for the frames of a clip, from the tracks' run-length masks.

Tracks hold masks on tracked frames only (every few source frames), in source pixels; a clip's
frames are sampled by time and stored smaller. Each object's mask comes from the nearest tracked
frame (within `max_gap` frames), is shifted by how far the object's box moved in between (masks
cannot be interpolated, boxes can), and is resized to the stored frame. An object with no mask
nearby gets its box as mask, so every renderer still sees it. Each mask's extent (tight box and
pixel count, see `extents`) comes with it, read off the warped crop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vcprep.core.masks import rle_decode_crop
from vcprep.core.types import Clip, Tracks
from vcprep.render.renderers.extents import mask_extent


@dataclass(frozen=True, slots=True)
class ClipMasks:
    """The masks of a clip's objects, per frame, with their extents."""

    masks: list[np.ndarray]  # per frame: [K, H, W] bool
    mask_boxes: list[np.ndarray]  # per frame: [K, 4] int32 tight box of each mask, zeros where empty
    mask_areas: list[np.ndarray]  # per frame: [K] int64 pixels of each mask

    def attach(self, clip: Clip) -> None:
        """Give `clip` these masks (its renderers then draw masks rather than boxes)."""
        clip.masks, clip.mask_boxes, clip.mask_areas = self.masks, self.mask_boxes, self.mask_areas


def _box_mask(box: list[float], out: np.ndarray) -> tuple[tuple[int, int, int, int], int]:
    """Fill the box into the zero mask `out`; its extent."""
    height, width = out.shape
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
    if x2 <= x1 or y2 <= y1:
        return (0, 0, 0, 0), 0
    out[y1:y2, x1:x2] = True
    return (x1, y1, x2, y2), (x2 - x1) * (y2 - y1)


def masks_for_clip(
    tracks: Tracks,
    frame_indices: list[int],
    track_ids: list[np.ndarray],
    boxes: list[np.ndarray],
    size: tuple[int, int],
    *,
    max_gap: int,
) -> ClipMasks | None:
    """[K, H, W] bool masks per clip frame, aligned with `track_ids[i]` / `boxes[i]` (stored-frame
    pixels), with their extents; None when the tracker made no masks (renderers then use boxes).

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
    out = ClipMasks([], [], [])
    for near, ids, frame_boxes in zip(nearest, track_ids, boxes):
        masks = np.zeros((len(ids), height, width), bool)
        extents = np.zeros((len(ids), 4), np.int32)
        areas = np.zeros(len(ids), np.int64)
        out.masks.append(masks)
        out.mask_boxes.append(extents)
        out.mask_areas.append(areas)
        for k, (track_id, box) in enumerate(zip(np.asarray(ids).tolist(), np.asarray(frame_boxes).tolist())):
            row = next((index[(g, track_id)] for g in near if (g, track_id) in index), None)
            if row is None:
                extents[k], areas[k] = _box_mask(box, masks[k])
                continue
            if row not in decoded:
                decoded[row] = rle_decode_crop(tracks.mask_rle[row] or "")
            crop = decoded[row]
            if crop is None:  # an empty mask stays empty
                continue
            part, cx, cy, (src_h, src_w) = crop
            sx, sy = width / src_w, height / src_h
            # shift so the mask follows the box from its tracked frame to this one
            tx1, ty1, tx2, ty2 = tracks.xyxy[row].tolist()
            dx = (box[0] + box[2]) / 2 - (tx1 + tx2) / 2 * sx
            dy = (box[1] + box[3]) / 2 - (ty1 + ty2) / 2 * sy
            # where the crop lands, a pixel to spare on each side, inside the frame
            x0, x1 = max(0, math.floor(cx * sx + dx) - 1), min(width, math.ceil((cx + part.shape[1]) * sx + dx) + 1)
            y0, y1 = max(0, math.floor(cy * sy + dy) - 1), min(height, math.ceil((cy + part.shape[0]) * sy + dy) + 1)
            if x1 <= x0 or y1 <= y0:
                continue  # moved out of the frame
            warp = np.array([[sx, 0, dx + sx * cx - x0], [0, sy, dy + sy * cy - y0]], np.float32)
            warped = cv2.warpAffine(part, warp, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST)
            masks[k, y0:y1, x0:x1] = warped.view(bool)
            extents[k], areas[k] = mask_extent(warped, x0, y0)
    return out
