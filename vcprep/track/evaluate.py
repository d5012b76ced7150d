"""Tracking measured against a multi-object ground truth (MOT format) with the field's metrics.

HOTA, IDF1, MOTA and recall come from Roboflow's `trackers.eval` (Apache-2.0, already a
dependency for ByteTrack, written to match TrackEval's matching and numbers, and it takes arrays
so no files are written). Tracks are read on the ground-truth frames, interpolated between
tracked frames where the track rate skips one (`boxes_at_frame`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vcprep.core.config import PipelineConfig
from vcprep.core.errors import InputError
from vcprep.core.geometry import box_iou_matrix
from vcprep.core.types import Tracks
from vcprep.track.postprocess import boxes_at_frame
from vcprep.track.trackers.base import PhraseTracker


@dataclass(frozen=True)
class MotGroundTruth:
    """Rows of a MOT `gt.txt` as struct-of-arrays; frame indices are 0-based (MOT frame - 1)."""

    frame_index: np.ndarray  # [N] int64
    track_id: np.ndarray  # [N] int64
    xyxy: np.ndarray  # [N, 4] float64
    class_id: np.ndarray | None = None
    """[N] COCO class ids, from a multi-class file's 8th column; None where that column is -1 (one class)."""

    @classmethod
    def load(cls, path: str | Path) -> MotGroundTruth:
        try:
            rows = np.loadtxt(path, delimiter=",", ndmin=2)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a MOT file (frame,id,x,y,w,h,...): {exc}") from exc
        if rows.size == 0 or rows.shape[1] < 6:
            raise InputError(f"{path}: not a MOT file (frame,id,x,y,w,h,...): no rows of 6+ columns")
        xywh = rows[:, 2:6]
        classes = rows[:, 7].astype(np.int64) if rows.shape[1] >= 8 and np.all(rows[:, 7] >= 0) else None
        return cls(rows[:, 0].astype(np.int64) - 1, rows[:, 1].astype(np.int64),
                   np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1), classes)

    def frames(self) -> np.ndarray:
        return np.unique(self.frame_index)

    def of_class(self, class_id: int) -> MotGroundTruth:
        """The rows of one class (all rows of a one-class file)."""
        if self.class_id is None:
            return self
        keep = self.class_id == class_id
        return MotGroundTruth(self.frame_index[keep], self.track_id[keep], self.xyxy[keep], self.class_id[keep])


def tracks_of_class(tracks: Tracks, class_id: int) -> Tracks:
    """The tracks whose boxes are mostly of `class_id` (a track's class is the majority of its boxes')."""
    keep = np.zeros(len(tracks), dtype=bool)
    for track in np.unique(tracks.track_id):
        mine = tracks.track_id == track
        classes, counts = np.unique(tracks.class_id[mine], return_counts=True)
        keep |= mine & (classes[np.argmax(counts)] == class_id)
    return tracks.select(keep)


@dataclass(frozen=True)
class MotReport:
    """The field's metrics of one sequence (fractions in [0, 1]; MOTA may be negative)."""

    hota: float
    idf1: float
    mota: float
    recall: float
    """Share of ground-truth boxes matched at IoU >= 0.5 (CLEAR recall)."""
    precision: float
    id_switches: int
    mean_matched_iou: float
    frames: int
    gt_boxes: int

    def line(self) -> str:
        return (f"HOTA {self.hota:.3f}  IDF1 {self.idf1:.3f}  MOTA {self.mota:.3f}  recall@0.5 {self.recall:.3f}  "
                f"precision {self.precision:.3f}  IDSW {self.id_switches}  IoU {self.mean_matched_iou:.3f}  "
                f"({self.gt_boxes} boxes on {self.frames} frames)")


def evaluate_tracks(tracks: Tracks, gt: MotGroundTruth, *, max_gap_frames: int = 2) -> MotReport:
    """HOTA / IDF1 / MOTA / recall of `tracks` on the ground truth's frames."""
    from trackers.eval import compute_clear_metrics, compute_hota_metrics, compute_identity_metrics

    gt_ids, tr_ids, sims = [], [], []
    for f in gt.frames():
        here = gt.frame_index == f
        ids, boxes = boxes_at_frame(tracks, int(f), max_gap=max_gap_frames)
        gt_ids.append(gt.track_id[here])
        tr_ids.append(ids)
        sims.append(box_iou_matrix(gt.xyxy[here], boxes) if len(ids) else np.zeros((int(here.sum()), 0)))
    clear = compute_clear_metrics(gt_ids, tr_ids, sims, threshold=0.5)
    hota = compute_hota_metrics(gt_ids, tr_ids, sims)
    ident = compute_identity_metrics(gt_ids, tr_ids, sims, threshold=0.5)
    return MotReport(float(hota["HOTA"]), float(ident["IDF1"]), float(clear["MOTA"]), float(clear["CLR_Re"]),
                     float(clear["CLR_Pr"]), int(clear["IDSW"]), float(clear["MOTP"]), int(gt.frames().size),
                     int(gt.frame_index.size))


@dataclass(frozen=True)
class RecipeEvaluation:
    report: MotReport
    seconds_per_frame: float
    """Decode + detect + track time per tracked frame."""
    frames_tracked: int
    tracks: Tracks | None = None
    """The post-processed tracks that were scored (for per-class scores)."""
    phrases: tuple[str, ...] = ()
    """The text prompts a text-prompted tracker (`sam3`) was bound to; empty for every other tracker."""


def ground_truth_phrases(gt: MotGroundTruth) -> tuple[str, ...]:
    """What a text-prompted tracker is asked to find on a ground truth: the COCO names of its classes (8th
    column), in id order, or `person` for a one-class file (MOT's pedestrians)."""
    from vcprep.core.classes import COCO_80

    if gt.class_id is None:
        return ("person",)
    unknown = sorted(int(c) for c in set(gt.class_id.tolist()) if not 0 <= c < len(COCO_80))
    if unknown:
        raise InputError(f"class ids {unknown} in the ground truth are not COCO-80 ids (0-79); name the phrases "
                         "with --phrase")
    return tuple(COCO_80[int(c)] for c in sorted(set(gt.class_id.tolist())))


def evaluate_recipe(config: PipelineConfig, video_path: str, gt_path: str | Path, *,
                    backfill_frames: int = 2, phrases: Sequence[str] = ()) -> RecipeEvaluation:
    """Run the recipe's detector, tracker and post-processing on the ground truth's stretch of
    `video_path` (under the recipe's data root), at the recipe's track rate, and score it.
    `backfill_frames` is the tracking loop's (`loop.track_frames`); 0 measures the tracker alone.
    A text-prompted tracker (`sam3`) is bound to `phrases`, by default the ground truth's class names (an
    unbound one would find nothing and score zero without saying why)."""
    import time

    from vcprep.decode.video import read_frames, sample_frame_indices
    from vcprep.track.loop import track_stream
    from vcprep.track.stage import Trackers, postprocess, probe_video

    gt = MotGroundTruth.load(gt_path)
    video_file, info = probe_video(config.resolve(config.source.data_root), video_path, config.decode)
    grid = sample_frame_indices(info=info, fps=config.decode.track_fps)
    frames = grid[(grid >= gt.frame_index.min()) & (grid <= gt.frame_index.max())]
    trackers = Trackers.build(config)
    tracker = trackers.tracker
    bound: tuple[str, ...] = ()
    if isinstance(tracker, PhraseTracker):
        bound = tuple(phrases) or ground_truth_phrases(gt)
        tracker = tracker.for_phrases(bound)
    t0 = time.perf_counter()
    raw = track_stream(read_frames(video_file, frames, backend=config.decode.backend),
                       detector=trackers.detector, tracker=tracker, backfill_frames=backfill_frames)
    seconds = time.perf_counter() - t0
    tracks = postprocess(raw, config.postprocess, info)
    step = int(np.max(np.diff(frames))) if frames.size > 1 else 1
    return RecipeEvaluation(evaluate_tracks(tracks, gt, max_gap_frames=2 * step), seconds / max(1, frames.size),
                            int(frames.size), tracks, bound)
