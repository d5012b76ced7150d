"""Post-processing of tracks as explicit steps (ground-truth target matching is in `matching.py`)."""

from __future__ import annotations

import itertools

import numpy as np

from vcprep.core.geometry import box_iou_matrix
from vcprep.core.masks import rle_area
from vcprep.core.types import Tracks


def drop_short_tracks(tracks: Tracks, min_length: int) -> Tracks:
    """Remove tracks present on fewer than `min_length` tracked frames (flicker, false positives)."""
    if len(tracks) == 0 or min_length <= 1:
        return tracks
    ids, counts = np.unique(tracks.track_id, return_counts=True)
    keep_ids = ids[counts >= min_length]
    return tracks.select(np.isin(tracks.track_id, keep_ids))


def fill_gaps(tracks: Tracks, max_gap_frames: int) -> Tracks:
    """Fill holes of at most `max_gap_frames` tracked frames inside each track by linear interpolation.

    A one-frame miss of the detector leaves the object untagged on a rendered frame although the
    tracker kept its ID; the gap is counted on the tracked-frame grid (`frame_indices_tracked`), so
    it means the same at any track rate. Filled rows get score 0 and no mask.
    """
    grid = tracks.frame_indices_tracked
    if len(tracks) == 0 or max_gap_frames <= 0 or grid.size == 0:
        return tracks
    pos_of = {int(f): k for k, f in enumerate(grid)}
    new_f, new_t, new_box, new_cls = [], [], [], []
    for tid in tracks.ids():
        sel = np.flatnonzero(tracks.track_id == tid)
        sel = sel[np.argsort(tracks.frame_index[sel], kind="stable")]
        for a, b in itertools.pairwise(sel):
            pa, pb = pos_of.get(int(tracks.frame_index[a])), pos_of.get(int(tracks.frame_index[b]))
            if pa is None or pb is None or not 1 < pb - pa <= max_gap_frames + 1:
                continue
            for p in range(pa + 1, pb):
                w = (p - pa) / (pb - pa)
                new_f.append(int(grid[p]))
                new_t.append(int(tid))
                new_box.append((1 - w) * tracks.xyxy[a] + w * tracks.xyxy[b])
                new_cls.append(int(tracks.class_id[a]))
    if not new_f:
        return tracks
    frames = np.asarray(new_f, np.int64)
    order = np.argsort(tracks.frame_index, kind="stable")
    pts = np.interp(frames, tracks.frame_index[order], tracks.pts_seconds[order])
    filled = Tracks(frames, pts, np.asarray(new_t, np.int64), np.asarray(new_box, np.float32).reshape(-1, 4),
                    np.zeros(len(new_f), np.float32), np.asarray(new_cls, np.int32),
                    mask_rle=[None] * len(new_f) if tracks.mask_rle is not None else None,
                    frame_indices_tracked=grid)
    out = Tracks.concat([tracks, filled])
    order = np.lexsort((out.track_id, out.frame_index))
    return Tracks(out.frame_index[order], out.pts_seconds[order], out.track_id[order], out.xyxy[order],
                  out.score[order], out.class_id[order],
                  mask_rle=None if out.mask_rle is None else [out.mask_rle[k] for k in order],
                  frame_indices_tracked=grid)


def compact_ids(tracks: Tracks) -> tuple[Tracks, dict[int, int]]:
    """Renumber tracks 1..K in order of first appearance (ties: left to right on that frame).

    Returns the renumbered tracks and the mapping raw id -> compact id.
    """
    if len(tracks) == 0:
        return tracks, {}
    order = np.lexsort((tracks.xyxy[:, 0], tracks.frame_index))
    mapping: dict[int, int] = {}
    for raw in tracks.track_id[order]:
        if int(raw) not in mapping:
            mapping[int(raw)] = len(mapping) + 1
    new = tracks.select(np.ones(len(tracks), bool))
    new.track_id = np.array([mapping[int(t)] for t in tracks.track_id], np.int64)
    return new, mapping


def drop_small_masks(tracks: Tracks, min_ratio: float = 1 / 3, *, boxes_too: bool = False) -> Tracks:
    """For rendering only (STVG-R1): per frame, drop objects whose mask is smaller than
    `min_ratio` of that frame's largest mask. Box-only tracks pass unchanged unless
    `boxes_too`, which compares box areas instead (far-away people have small boxes, not noise).

    Evaluation and target matching read the unfiltered tracks; only what is drawn shrinks.
    """
    if len(tracks) == 0 or min_ratio <= 0 or (tracks.mask_rle is None and not boxes_too):
        return tracks
    if tracks.mask_rle is not None:
        area = np.array([rle_area(m) if m else 0 for m in tracks.mask_rle], np.float64)
    else:
        wh = np.clip(tracks.xyxy[:, 2:] - tracks.xyxy[:, :2], 0, None)
        area = (wh[:, 0] * wh[:, 1]).astype(np.float64)
    frames, inverse = np.unique(tracks.frame_index, return_inverse=True)
    per_frame = np.zeros(len(frames))
    np.maximum.at(per_frame, inverse, area)
    largest = per_frame[inverse]
    return tracks.select(area >= min_ratio * largest)


def _join_candidates(tracks: Tracks, ids: list[int], max_gap_frames: int, min_iou: float
                     ) -> tuple[dict[int, tuple[int, int]], list[tuple[int, float, int, int]]]:
    """Each track's (first, last) frame, and the (gap, -IoU, earlier, later) pairs that may be joined."""
    span, first_box, last_box = {}, {}, {}
    for t in ids:
        sel = np.flatnonzero(tracks.track_id == t)
        order = sel[np.argsort(tracks.frame_index[sel], kind="stable")]
        span[t] = (int(tracks.frame_index[order[0]]), int(tracks.frame_index[order[-1]]))
        first_box[t], last_box[t] = tracks.xyxy[order[0]], tracks.xyxy[order[-1]]
    pairs = []
    for a in ids:
        for b in ids:
            gap = span[b][0] - span[a][1]
            if a != b and 0 < gap <= max_gap_frames:
                iou = float(box_iou_matrix(last_box[a][None], first_box[b][None])[0, 0])
                if iou >= min_iou:
                    pairs.append((gap, -iou, a, b))
    return span, pairs


def join_fragments(tracks: Tracks, *, max_gap_frames: int, min_iou: float = 0.3) -> tuple[Tracks, dict[int, int]]:
    """Join a track that ends to one that starts within `max_gap_frames` when the first box of the
    later one overlaps the last box of the earlier one (IoU >= `min_iou`) and they never coexist.

    Greedy in order of the gap (shortest first), so a chain of fragments becomes one ID. Returns
    the tracks with joined IDs (the earliest fragment's ID) and the mapping fragment -> kept ID.
    """
    if len(tracks) == 0 or max_gap_frames <= 0:
        return tracks, {}
    ids = [int(t) for t in tracks.ids()]
    span, pairs = _join_candidates(tracks, ids, max_gap_frames, min_iou)
    root = {t: t for t in ids}

    def find(t: int) -> int:
        return t if root[t] == t else find(root[t])

    has_next, has_prev = set(), set()
    members = {t: [t] for t in ids}
    for _, _, a, b in sorted(pairs):
        if a in has_next or b in has_prev:
            continue
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if any(span[m][0] <= span[n][1] and span[n][0] <= span[m][1] for m in members[ra] for n in members[rb]):
            continue  # joined tubes would overlap in time
        root[rb] = ra
        members[ra] += members.pop(rb)
        has_next.add(a)
        has_prev.add(b)
    mapping = {t: find(t) for t in ids if find(t) != t}
    if not mapping:
        return tracks, {}
    out = tracks.select(np.ones(len(tracks), bool))
    out.track_id = np.array([mapping.get(int(t), int(t)) for t in tracks.track_id], np.int64)
    return out, mapping


def boxes_at_frame(tracks: Tracks, frame_index: int, *, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Track IDs [K] and xyxy boxes [K, 4] on `frame_index`, interpolated when untracked.

    Frames between two tracked frames (at most `max_gap` apart) get, for every ID present on
    both, a linear interpolation; IDs on only one side come from the nearer side.
    """
    tracked = tracks.frame_indices_tracked
    if tracked.size == 0 or frame_index in set(tracked.tolist()):
        here = tracks.at_frame(frame_index)
        return here.track_id.copy(), here.xyxy.copy()
    pos = int(np.searchsorted(tracked, frame_index))
    prev_f = int(tracked[pos - 1]) if pos > 0 else None
    next_f = int(tracked[pos]) if pos < tracked.size else None
    if prev_f is None or next_f is None or next_f - prev_f > max_gap:
        prev_closer = prev_f is not None and (next_f is None or frame_index - prev_f <= next_f - frame_index)
        near = prev_f if prev_closer else next_f
        if near is None or abs(near - frame_index) > max_gap:
            return np.zeros(0, np.int64), np.zeros((0, 4), np.float32)
        here = tracks.at_frame(near)
        return here.track_id.copy(), here.xyxy.copy()
    a, b = tracks.at_frame(prev_f), tracks.at_frame(next_f)
    w = (frame_index - prev_f) / (next_f - prev_f)
    ids, boxes = [], []
    b_index = {int(t): k for k, t in enumerate(b.track_id)}
    for k, t in enumerate(a.track_id):
        if int(t) in b_index:
            boxes.append((1 - w) * a.xyxy[k] + w * b.xyxy[b_index[int(t)]])
        else:
            if w > 0.5:
                continue
            boxes.append(a.xyxy[k])
        ids.append(int(t))
    a_ids = {int(t) for t in a.track_id}
    for k, t in enumerate(b.track_id):
        if int(t) not in a_ids and w >= 0.5:
            ids.append(int(t))
            boxes.append(b.xyxy[k])
    return np.asarray(ids, np.int64), np.asarray(boxes, np.float32).reshape(-1, 4)
