"""Issue 16: person-shape priors, hole filling, and MOT metrics against the hand-checked vtest stretch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vcprep.core.types import Tracks
from vcprep.track.evaluate import MotGroundTruth, evaluate_tracks
from vcprep.track.postprocess import fill_gaps
from vcprep.track.priors import PersonPriors

GT = Path(__file__).resolve().parent / "fixtures" / "vtest_mot" / "gt.txt"


def _tracks_from_gt(gt: MotGroundTruth, shift_px: float = 0.0) -> Tracks:
    n = gt.frame_index.size
    return Tracks(gt.frame_index, gt.frame_index / 10.0, gt.track_id, (gt.xyxy + shift_px).astype(np.float32),
                  np.ones(n, np.float32), np.zeros(n, np.int32), frame_indices_tracked=gt.frames())


def test_ground_truth_scores_perfectly_and_a_shift_costs() -> None:
    gt = MotGroundTruth.load(GT)
    assert gt.frames().size >= 21 and len(np.unique(gt.track_id)) >= 7
    perfect = evaluate_tracks(_tracks_from_gt(gt), gt)
    assert perfect.hota > 0.99 and perfect.idf1 == 1.0 and perfect.recall == 1.0 and perfect.id_switches == 0
    shifted = evaluate_tracks(_tracks_from_gt(gt, shift_px=12.0), gt)
    assert shifted.recall < 0.8 and shifted.hota < perfect.hota


def test_priors_drop_giant_and_sliver_boxes() -> None:
    boxes = np.array([[100, 100, 140, 200], [0, 100, 700, 500], [10, 10, 12, 200]], np.float32)
    keep = PersonPriors(max_height_fraction=0.5, min_aspect=0.2, max_aspect=0.9).keep(boxes, 576)
    assert keep.tolist() == [True, False, False]


def test_one_frame_hole_is_filled_and_long_ones_are_not() -> None:
    grid = np.arange(0, 20, 2)
    frames = np.array([0, 2, 6, 14])  # hole of 1 tracked frame (4), then of 3 (8, 10, 12)
    boxes = np.array([[0, 0, 10, 20], [2, 0, 12, 20], [6, 0, 16, 20], [14, 0, 24, 20]], np.float32)
    t = Tracks(frames, frames / 10.0, np.ones(4, np.int64), boxes, np.ones(4, np.float32), np.zeros(4, np.int32),
               frame_indices_tracked=grid)
    out = fill_gaps(t, 2)
    assert out.frame_index.tolist() == [0, 2, 4, 6, 14]
    np.testing.assert_allclose(out.at_frame(4).xyxy[0], [4, 0, 14, 20])
