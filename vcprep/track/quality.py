"""How good tracking is for grounding: the oracle tIoU / vIoU the best single track reaches.

If the target was never tracked, no answer in the ID format can be right; the oracle is the
ceiling an STVG-R1 model trained on these IDs can reach.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from vcprep.core.geometry import box_iou_matrix
from vcprep.core.records import VideoStats
from vcprep.core.types import Tracks


@dataclass(frozen=True)
class Oracle:
    track_id: int | None
    tiou: float
    viou: float


def oracle_for_sample(
    tracks: Tracks,
    gt_boxes: dict[int, tuple[float, float, float, float]],
    *,
    tolerance_frames: int,
) -> Oracle:
    """Best single track by vIoU over the tracked-frame grid.

    T_gt is the set of tracked frames that have a ground-truth box within `tolerance_frames`;
    T_pred the tracked frames where the track appears. vIoU = sum of box IoU over
    T_pred ∩ T_gt divided by |T_pred ∪ T_gt|; tIoU = |T_pred ∩ T_gt| / |T_pred ∪ T_gt|.
    """
    grid = tracks.frame_indices_tracked
    if not gt_boxes or grid.size == 0:
        return Oracle(None, 0.0, 0.0)
    gt_frames = np.array(sorted(gt_boxes), np.int64)
    gt_at: dict[int, np.ndarray] = {}
    for f in grid:
        j = int(np.argmin(np.abs(gt_frames - f)))
        if abs(int(gt_frames[j]) - int(f)) <= tolerance_frames:
            gt_at[int(f)] = np.asarray(gt_boxes[int(gt_frames[j])], np.float64)
    if not gt_at:
        return Oracle(None, 0.0, 0.0)
    best = Oracle(None, 0.0, 0.0)
    for tid in tracks.ids():
        mine = tracks.select(tracks.track_id == tid)
        pred = {int(f): mine.xyxy[k] for k, f in enumerate(mine.frame_index)}
        union = len(set(pred) | set(gt_at))
        inter = set(pred) & set(gt_at)
        if not inter:
            continue
        ious = sum(float(box_iou_matrix(pred[f], gt_at[f])[0, 0]) for f in inter)
        cand = Oracle(int(tid), len(inter) / union, ious / union)
        if cand.viou > best.viou:
            best = cand
    return best


def _median_step_gap(frames: list[int]) -> int:
    """vctrain's default interpolation reach: 2x the median step between known frames (0 if fewer than two)."""
    steps = sorted(b - a for a, b in itertools.pairwise(frames))
    return 2 * steps[len(steps) // 2] if steps else 0


def _interpolated(known: dict[int, np.ndarray], frames: list[int]) -> dict[int, np.ndarray]:
    """Boxes at `frames`: exact, or linear between two known frames at most the default gap apart."""
    keys = sorted(known)
    gap = _median_step_gap(keys)
    out: dict[int, np.ndarray] = {}
    for f in frames:
        if f in known:
            out[f] = known[f]
            continue
        i = int(np.searchsorted(keys, f))
        if 0 < i < len(keys) and keys[i] - keys[i - 1] <= gap:
            a, b = keys[i - 1], keys[i]
            w = (f - a) / (b - a)
            out[f] = (1 - w) * known[a] + w * known[b]
    return out


def answer_ceiling(
    tracks: Tracks,
    gt_boxes: dict[int, tuple[float, float, float, float]],
    gt_span_seconds: tuple[float, float],
    fps: float,
) -> Oracle:
    """The best vIoU an STVG-R1 answer (one ID and one span) can score under `vctrain eval`'s default rules.

    Unlike `oracle_for_sample`, a track that rightly keeps following the target after (or before) the
    ground-truth span costs nothing here, because the answer's span cuts it. The rules mirrored (vctrain
    cannot be imported from vcprep): the grid is the frames of the sample's tube (`tracks`, the clip's
    boxes); a span holds the grid frames whose time f/fps lies in it, ends included; ground-truth and
    predicted boxes are interpolated onto those frames between known boxes at most 2x their median step
    apart; vIoU = sum of IoU over pred ∩ gt frames / |pred ∪ gt|. Every ID and every span between two
    grid frames' times is tried. Returns the best (track_id, tIoU over frames, vIoU).
    """
    grid = sorted({int(f) for f in tracks.frame_index})
    start, end = gt_span_seconds
    gt_frames = [f for f in grid if start - 1e-9 <= f / fps <= end + 1e-9]
    if not grid or not gt_frames:
        return Oracle(None, 0.0, 0.0)
    gt = _interpolated({int(f): np.asarray(b, np.float64) for f, b in gt_boxes.items()}, gt_frames)
    gt_set = set(gt_frames)
    best = Oracle(None, 0.0, 0.0)
    for tid in tracks.ids():
        mine = tracks.select(tracks.track_id == tid)
        pred = _interpolated({int(f): mine.xyxy[k].astype(np.float64) for k, f in enumerate(mine.frame_index)}, grid)
        score = np.array([float(box_iou_matrix(pred[f], gt[f])[0, 0]) if f in pred and f in gt else 0.0
                          for f in grid])
        in_gt = np.array([f in gt_set for f in grid])
        cum = np.concatenate([[0.0], np.cumsum(score * in_gt)])
        cum_gt = np.concatenate([[0], np.cumsum(in_gt)])
        for i in range(len(grid)):
            for j in range(i, len(grid)):
                inter_gt = cum_gt[j + 1] - cum_gt[i]
                union = len(gt_set) + (j - i + 1) - inter_gt
                v = (cum[j + 1] - cum[i]) / union
                if v > best.viou:
                    best = Oracle(int(tid), float(inter_gt / union), float(v))
    return best


def answer_ceiling_of_tube(
    tube_frame_indices: list[int],
    tube_pts_seconds: list[float],
    tube_track_ids: list[int],
    tube_boxes: list[list[float]],
    gt_frame_indices: list[int],
    gt_boxes: list[list[float]],
    gt_span_seconds: list[float] | None,
    fps: float,
) -> float | None:
    """`answer_ceiling` of one stored sample, from its tube and ground-truth columns (None without a span)."""
    if not gt_span_seconds or not gt_boxes or not fps:
        return None
    n = len(tube_frame_indices)
    tracks = Tracks(np.asarray(tube_frame_indices, np.int64), np.asarray(tube_pts_seconds, np.float64),
                    np.asarray(tube_track_ids, np.int64), np.asarray(tube_boxes, np.float32).reshape(-1, 4),
                    np.ones(n, np.float32), np.zeros(n, np.int32))
    gt = {int(f): (float(b[0]), float(b[1]), float(b[2]), float(b[3])) for f, b in zip(gt_frame_indices, gt_boxes)}
    return answer_ceiling(tracks, gt, (float(gt_span_seconds[0]), float(gt_span_seconds[1])), float(fps)).viou


def track_stats(tracks: Tracks) -> dict[str, Any]:
    """Per-video tracking statistics that need no ground truth (IDs, track lengths in tracked frames)."""
    lengths = np.unique(tracks.track_id, return_counts=True)[1] if len(tracks) else np.zeros(0, np.int64)
    return {
        "num_ids": int(lengths.size),
        "frames_tracked": int(tracks.frame_indices_tracked.size),
        "track_lengths": lengths.astype(int).tolist(),
        "median_track_length": float(np.median(lengths)) if lengths.size else 0.0,
        "has_masks": tracks.mask_rle is not None,
    }


def length_distribution(lengths: list[int]) -> dict[str, float] | None:
    """Track length (tracked frames) quantiles over every track of a dataset."""
    if not lengths:
        return None
    q = np.percentile(np.asarray(lengths, np.float64), [0, 10, 50, 90, 100])
    return {"min": float(q[0]), "p10": round(float(q[1]), 1), "median": float(q[2]), "p90": round(float(q[3]), 1),
            "max": float(q[4]), "tracks": len(lengths)}


def fragmentation(votes_per_sample: list[dict[Any, int]]) -> dict[str, float] | None:
    """How often one ground-truth target is split over several IDs.

    Per sample with a matched target: the number of distinct tracks that won at least one
    annotated frame's vote (1 = the target kept one ID throughout). Reports the mean count and
    the share of samples with more than one.
    """
    counts = [len(v) for v in votes_per_sample if v]
    if not counts:
        return None
    arr = np.asarray(counts, np.float64)
    return {"mean_ids_per_target": round(float(arr.mean()), 4), "fragmented_share": round(float((arr > 1).mean()), 4)}


def run_quality(video_stats: list[VideoStats]) -> dict[str, Any]:
    """Tracking quality of one run from the per-video stats of `process_video` (for the run summary)."""
    oracle = [v for s in video_stats for v in s.oracle_viou if v is not None]
    votes: list[dict[Any, int]] = [m for s in video_stats for m in s.match_votes]
    lengths = [n for s in video_stats for n in s.track_lengths]
    return {
        "samples_with_gt": len(oracle),
        "mean_oracle_viou": round(float(np.mean(oracle)), 4) if oracle else None,
        "target_never_tracked_share": round(float(np.mean([v == 0 for v in oracle])), 4) if oracle else None,
        "mean_ids_per_video": round(float(np.mean([s.num_ids for s in video_stats])), 2) if video_stats else None,
        "track_length_frames": length_distribution(lengths),
        "fragmentation": fragmentation(votes),
    }


def quality_line(q: dict[str, Any]) -> str:
    length = q["track_length_frames"]
    frag = q["fragmentation"]
    return (f"tracking: {q['mean_ids_per_video']} IDs/video, median track {length['median'] if length else '-'} "
            f"frames; oracle vIoU {q['mean_oracle_viou']} over {q['samples_with_gt']} samples with boxes, "
            f"never tracked {q['target_never_tracked_share']}, "
            f"IDs per target {frag['mean_ids_per_target'] if frag else '-'}")
