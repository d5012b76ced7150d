"""Seeding a target the detector missed: its ground-truth boxes, followed beyond them by a single-object tracker.

A sample whose target no track matches can still become a training row when the target's track is made
from its annotation. Boxes only on the annotated frames would leak the answer: the tag would appear
exactly when the answer's time range starts and vanish when it ends. So the seeded track covers the
annotated stretch with the ground truth (interpolated between annotated frames) and is carried
before and after it, over the sample's whole clip, by OpenCV's MIL tracker (the single-object tracker
opencv-python ships without extra model files), until that tracker loses the object.

Measured on bikes.mp4 against boxes drawn by hand (`bench/bench_seed_trackers.py`, BENCHMARKS.md): MIL
keeps box IoU 0.66-0.98 over up to 1.4 s at 5 fps, through a passer-by hiding half of a parked bicycle,
where plain template matching loses it (IoU 0.00-0.46 on the hidden frames), at 4-7x its time a frame.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from vcprep.core.geometry import box_iou_matrix
from vcprep.core.types import Frame, Tracks
from vcprep.track.postprocess import compact_ids

Box = tuple[float, float, float, float]


class MILFollower:
    """OpenCV's MIL single-object tracker on RGB frames, with xyxy boxes in and out."""

    def __init__(self, image: np.ndarray, xyxy: Sequence[float]) -> None:
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        self.tracker = cv2.TrackerMIL.create()
        self.tracker.init(image, (round(x1), round(y1), max(1, round(x2 - x1)), max(1, round(y2 - y1))))

    def update(self, image: np.ndarray) -> Box | None:
        """The object's box on the next frame, or None once the tracker has lost it."""
        ok, (x, y, w, h) = self.tracker.update(image)
        return (float(x), float(y), float(x + w), float(y + h)) if ok else None


def ground_truth_at(gt_boxes: dict[int, Box], frame_index: int) -> Box:
    """The ground-truth box on a frame inside the annotated stretch, linear between annotated frames."""
    frames = np.array(sorted(gt_boxes), np.float64)
    boxes = np.array([gt_boxes[int(f)] for f in frames], np.float64)
    return tuple(float(np.interp(frame_index, frames, boxes[:, k])) for k in range(4))  # type: ignore[return-value]


def seeded_boxes(frames: Sequence[Frame], gt_boxes: dict[int, Box]) -> dict[int, Box]:
    """The target's box on each of `frames` (ascending frame order) that can be known: the ground truth on
    frames inside the annotated stretch, the MIL tracker's outside it (forward from the last frame inside,
    backward from the first), until the tracker loses the object.

    Run in a fresh process: OpenCV's MIL draws its training patches from a random generator that lives as
    long as the process and that Python cannot reseed, so in-process the boxes would depend on how many
    targets were seeded before (a resumed run, or another sample of the same worker, would differ).
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(seeded_boxes_here, list(frames), dict(gt_boxes)).result()


def seeded_boxes_here(frames: Sequence[Frame], gt_boxes: dict[int, Box]) -> dict[int, Box]:
    """`seeded_boxes` in this process (its result depends on the MIL calls this process made before)."""
    first, last = min(gt_boxes), max(gt_boxes)
    out = {fr.frame_index: ground_truth_at(gt_boxes, fr.frame_index) for fr in frames
           if first <= fr.frame_index <= last}
    inside = [k for k, fr in enumerate(frames) if first <= fr.frame_index <= last]
    if not inside:  # the tracked grid skips the whole annotated stretch: start from the nearest frame
        nearest = int(np.argmin([min(abs(fr.frame_index - first), abs(fr.frame_index - last)) for fr in frames]))
        out[frames[nearest].frame_index] = ground_truth_at(gt_boxes, frames[nearest].frame_index)
        inside = [nearest]
    for start, step in ((inside[-1], 1), (inside[0], -1)):
        try:
            follower = MILFollower(frames[start].image, out[frames[start].frame_index])
        except cv2.error:  # a box MIL cannot learn from (too small, or mostly outside the frame): no following
            continue
        k = start + step
        while 0 <= k < len(frames) and frames[k].frame_index not in out:
            try:
                box = follower.update(frames[k].image)
            except cv2.error:  # the object left the frame in a way MIL cannot follow
                box = None
            if box is None:
                break
            out[frames[k].frame_index] = box
            k += step
    return out


@dataclass
class SeededTracks:
    """The video's tracks with seeded targets added, and the track ID each seeded sample's target got."""

    tracks: Tracks
    target_of: dict[str, int]


def add_seeded_tracks(tracks: Tracks, seeds: Iterable[tuple[str, dict[int, Box]]], *,
                      duplicate_iou: float = 0.5) -> SeededTracks:
    """Add one track per (sample id, boxes by frame); boxes of other tracks that overlap a seeded box on its
    frame at IoU >= `duplicate_iou` are dropped (the same object must not carry two IDs); IDs are made
    compact again (1..K by first appearance)."""
    parts, raw_of = [tracks], {}
    next_id = int(tracks.track_id.max()) + 1 if len(tracks) else 1
    order = np.argsort(tracks.frame_index, kind="stable")
    for sample_id, boxes in seeds:
        frames = np.array(sorted(boxes), np.int64)
        xyxy = np.array([boxes[int(f)] for f in frames], np.float32).reshape(-1, 4)
        pts = np.interp(frames, tracks.frame_index[order], tracks.pts_seconds[order]) if len(tracks) else \
            np.zeros(len(frames))
        keep = np.ones(len(parts[0]), bool)
        for f, box in zip(frames, xyxy):
            on = np.flatnonzero(parts[0].frame_index == f)
            if on.size:
                keep[on[box_iou_matrix(box[None], parts[0].xyxy[on])[0] >= duplicate_iou]] = False
        parts[0] = parts[0].select(keep)
        parts.append(Tracks(frames, pts, np.full(len(frames), next_id, np.int64), xyxy,
                            np.ones(len(frames), np.float32), np.full(len(frames), -1, np.int32),
                            mask_rle=[None] * len(frames) if tracks.mask_rle is not None else None,
                            frame_indices_tracked=tracks.frame_indices_tracked))
        raw_of[sample_id] = next_id
        next_id += 1
    merged = Tracks.concat(parts)
    merged.frame_indices_tracked = tracks.frame_indices_tracked
    compact, mapping = compact_ids(merged)
    return SeededTracks(compact, {s: mapping[t] for s, t in raw_of.items()})
