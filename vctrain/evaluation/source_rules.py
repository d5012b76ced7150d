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

STVG-R1's fallbacks for a frame where the predicted ID is absent (another object's box: the one overlapping the
last box most, or nearest to the ID's box in the closest frame that has it, or the largest) are reproduced from every
object's boxes per frame (`stvg_r1_predicted_boxes`). What cannot be reproduced: the samples its exceptions drop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from vctrain.data.groundtruth import Box
from vctrain.rewards.geometry import box_iou


def last_pixel_box(box: Box) -> Box:
    """A box with exclusive x2/y2 written as STVG-R1's mask boxes are: the last pixel's index (x2 - 1, y2 - 1)."""
    return (box[0], box[1], box[2] - 1.0, box[3] - 1.0)


def _best_overlap(objects: Mapping[int, Box], reference: Box, default: Box | None) -> Box | None:
    """The object box with the highest IoU (strictly above 0, first one on ties) with `reference`, else `default`
    (evaluate.py 103-116, 139-151, 184-196)."""
    best, best_iou = default, 0.0
    for box in objects.values():
        iou = box_iou(box, reference)
        if iou > best_iou:
            best, best_iou = box, iou
    return best


def _largest(objects: Mapping[int, Box]) -> Box | None:
    """evaluate.py 154-174: the box of largest (positive) area, first one on ties."""
    best, best_area = None, 0.0
    for box in objects.values():
        area = (box[2] - box[0]) * (box[3] - box[1])
        if area > best_area:
            best, best_area = box, area
    return best


def stvg_r1_predicted_boxes(
    objects_by_frame: Mapping[int, Mapping[int, Box]], pred_id: int, first: int, last: int
) -> dict[int, Box | None]:
    """The box STVG-R1's evaluation uses for the predicted ID on each frame from `first` to `last` that has tracking
    data (evaluate.py 262-314), `objects_by_frame` holding every object's (mask) box per frame in the masks' order.

    The ID's own box where it is tracked; elsewhere, after a frame that had one, the object overlapping that box most
    (the largest object when none overlaps; then, with no object at all, the ID's box of the last frame that had it,
    or the object overlapping it most); before any, the object overlapping most the ID's box in the nearest frame
    that has it; and the largest object when all of that fails.
    """
    frames_with = [f for f in range(first, last + 1) if pred_id in objects_by_frame.get(f, {})]
    current: Box | None = None
    last_valid: int | None = None
    out: dict[int, Box | None] = {}
    for frame in range(first, last + 1):
        objects = objects_by_frame.get(frame)
        if objects is None:
            continue  # 276-277: no mask data for this frame
        box: Box | None
        if pred_id in objects:
            box = current = objects[pred_id]
            last_valid = frame
        elif current is not None:
            box = _best_overlap(objects, current, None) or _largest(objects)  # 284, 176-200
            if box is None and last_valid is not None:  # 290, 118-152
                own = objects_by_frame[last_valid][pred_id]
                box = current = _best_overlap(objects, own, own)
        else:
            box = None
            if frames_with:  # 295, 79-116
                nearest = min(frames_with, key=lambda f: abs(f - frame))
                own = objects_by_frame[nearest][pred_id]
                box = current = _best_overlap(objects, own, own)
                last_valid = max((f for f in frames_with if f <= frame), default=last_valid)
        out[frame] = box if box is not None else _largest(objects)  # 307-309
    return out


def stvg_r1_frames(span_seconds: Sequence[float], fps: float) -> tuple[int, int]:
    """evaluate.py 233-236: seconds to frames by truncation."""
    return int(span_seconds[0] * fps), int(span_seconds[1] * fps)


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
    (gs, ge), (ps, pe) = stvg_r1_frames(gt_span_seconds, fps), stvg_r1_frames(pred_span_seconds, fps)
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
    pred_sted: Sequence[float],
    gt_sted: Sequence[int],
    frame_ids: Sequence[int],
    gt_xywh: Sequence[Sequence[float]],
    pred_boxes: Mapping[int, Sequence[Box]],
    *,
    missing: str = "raise",
) -> tuple[float, float]:
    """(tIoU, vIoU) of one video as hcstvg_eval.py 118-185 computes them: half-open frame spans, the ground truth's
    frames on the grid, the first predicted box per frame. `pred_sted` may be fractional (a span in seconds times
    the frame rate): the source compares it with the integer frame ids unrounded. `missing="raise"` is the source (a
    frame of the ground truth without a prediction raises); `"zero"` scores it 0."""
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
