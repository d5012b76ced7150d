"""How good tracking is for grounding: the oracle tIoU / vIoU the best single track reaches.

If the target was never tracked, no answer in the ID format can be right; the oracle is the
ceiling an STVG-R1 model trained on these IDs can reach (SPEC sections 1 and 7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vcprep.geometry import box_iou_matrix
from vcprep.types import Tracks


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
