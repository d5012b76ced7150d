"""The sources' own STVG evaluation rules as pure functions, quirks included (`eval.convention`).

- STVG-R1 (XiaowZhang00/stvg-r1, evaluate.py): seconds become frames by `int(t * fps)`; the frames from the later
  start to the earlier end are summed only when that range holds more than one frame (an overlap of one frame
  scores 0); the union counts `max_end - min_start + 1` frames; a frame without tracking data is skipped in the sum
  but stays in the union; the ground truth is HC-STVG's per-frame list `[x, y, w, h]` from `st_frame`, an empty
  entry scoring 0 (no interpolation); predicted boxes come from masks with the last pixel as x2/y2.
  tIoU = max(0, (min(e, e*) - max(s, s*)) / (max(e, e*) - min(s, s*))), vIoU@R with `>=`.
- TubeDETR (antoyang/TubeDETR, datasets/hcstvg_eval.py): every video is taken as 20 s, frames are sampled at
  `fps` from frame 0 to the second-to-last frame, thinned to `video_max_len`; spans are half-open frame ranges
  [start, end); only the first predicted box of a frame counts; a frame without a prediction raises; vIoU@R `>`.

What cannot be reproduced without the sources' files: STVG-R1's fallbacks that borrow another object's mask box
when the predicted ID is absent from a frame (here: no box, IoU 0), and the samples that its exceptions drop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from vctrain.groundtruth import Box
from vctrain.rewards.geometry import box_iou


def last_pixel_box(box: Box) -> Box:
    """A box with exclusive x2/y2 written as STVG-R1's mask boxes are: the last pixel's index (x2 - 1, y2 - 1)."""
    return (box[0], box[1], box[2] - 1.0, box[3] - 1.0)


def stvg_r1_tiou(pred: Sequence[float], gt: Sequence[float]) -> float:
    """evaluate.py 559-560: signed overlap over the hull, clipped at 0. A zero hull raises there (the sample leaves
    the mean); 0 here."""
    hull = max(gt[1], pred[1]) - min(gt[0], pred[0])
    if hull == 0:
        return 0.0
    return max((min(gt[1], pred[1]) - max(gt[0], pred[0])) / hull, 0.0)


def stvg_r1_viou(
    pred_span_seconds: Sequence[float],
    gt_span_seconds: Sequence[float],
    fps: float,
    pred_boxes: Mapping[int, Box],
    gt_xywh: Sequence[Sequence[float] | None],
    gt_first_frame: int,
    tracked_frames: set[int] | None = None,
) -> float:
    """STVG-R1's vIoU of one sample (evaluate.py 204-336); `pred_boxes` already as its masks give them (last pixel),
    `tracked_frames` the frames that have mask data (None: all)."""
    gs, ge = int(gt_span_seconds[0] * fps), int(gt_span_seconds[1] * fps)
    ps, pe = int(pred_span_seconds[0] * fps), int(pred_span_seconds[1] * fps)
    first, last = max(gs, ps), min(ge, pe)
    union_frames = max(ge, pe) - min(gs, ps) + 1
    if first >= last:
        return 0.0
    total = 0.0
    for frame in range(first, last + 1):
        if tracked_frames is not None and frame not in tracked_frames:
            continue
        k = frame - gt_first_frame
        entry = gt_xywh[k] if 0 <= k < len(gt_xywh) else None
        gt_box = None
        if entry is not None and len(entry) >= 4:
            gt_box = (entry[0], entry[1], entry[0] + entry[2], entry[1] + entry[3])
        total += box_iou(pred_boxes.get(frame), gt_box)
    return total / union_frames if union_frames != 0 else 0.0


def tubedetr_frame_ids(
    frame_count: int, fps: float = 5.0, video_max_len: int = 200, seconds: float = 20.0
) -> list[int]:
    """hcstvg_eval.py 56-75: the source's frame grid (the video taken as `seconds` long; the last frame is never
    sampled; thinned by index when longer than `video_max_len`)."""
    rate = fps / (frame_count / seconds)
    if rate > 1:  # hcstvg_eval.py 61: `assert sampling_rate <= 1`
        raise ValueError(f"{frame_count} frames in {seconds} s is under {fps} fps: the source refuses to upsample")
    ids = [0]
    for frame in range(0, frame_count - 1):
        if int(ids[-1] * rate) < int(frame * rate):
            ids.append(frame)
    if len(ids) > video_max_len:
        ids = [ids[(j * len(ids)) // video_max_len] for j in range(video_max_len)]
    return ids


def tubedetr_box_iou(pred: Box, gt: Box) -> float:
    """util/box_ops.py np_box_iou on one pair: no clamp of the areas, 0/0 is NaN."""
    inter = max(0.0, min(pred[2], gt[2]) - max(pred[0], gt[0])) * max(0.0, min(pred[3], gt[3]) - max(pred[1], gt[1]))
    union = (pred[2] - pred[0]) * (pred[3] - pred[1]) + (gt[2] - gt[0]) * (gt[3] - gt[1]) - inter
    if union == 0:
        return math.nan if inter == 0 else math.copysign(math.inf, inter)
    return inter / union


def tubedetr_sample(
    pred_sted: Sequence[int],
    gt_sted: Sequence[int],
    frame_ids: Sequence[int],
    gt_xywh: Sequence[Sequence[float]],
    pred_boxes: Mapping[int, Sequence[Box]],
    *,
    missing: str = "raise",
) -> tuple[float, float]:
    """(tIoU, vIoU) of one video as hcstvg_eval.py 118-185 computes them: half-open frame spans, the ground truth's
    frames on the grid, the first predicted box per frame. `missing="raise"` is the source (a frame of the ground
    truth without a prediction raises); `"zero"` scores it 0."""
    max_start, min_end = max(gt_sted[0], pred_sted[0]), min(gt_sted[1], pred_sted[1])
    min_start, max_end = min(gt_sted[0], pred_sted[0]), max(gt_sted[1], pred_sted[1])
    if min_end <= max_start:
        tiou = 0.0
    else:
        inter = min_end - max_start
        tiou = inter / ((gt_sted[1] - gt_sted[0]) + (pred_sted[1] - pred_sted[0]) - inter)
    union = [f for f in frame_ids if min_start <= f < max_end]
    both = {f for f in frame_ids if max_start <= f < min_end}
    total = 0.0
    for frame in frame_ids:
        if not gt_sted[0] <= frame < gt_sted[1]:
            continue
        boxes = pred_boxes.get(frame)
        if not boxes:
            if missing == "raise":
                raise RuntimeError(f"No prediction for frame {frame}")
            continue
        x, y, w, h = gt_xywh[frame - gt_sted[0]][:4]
        iou = tubedetr_box_iou(boxes[0], (x, y, x + w, y + h))
        if frame in both:
            total += iou
    return tiou, total / max(len(union), 1)
