"""Grounding metrics (vctrain.evaluation.metrics) against values computed by hand, and on a real demo shard row."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from vctrain.evaluation.metrics import (
    STVGEvalConfig,
    STVGResult,
    evaluate_stvg_row,
    fps_grid,
    frame_span_iou,
    frames_in_span,
    interpolate_boxes,
    moment_retrieval,
    stvg_prediction_from_text,
    summarize_stvg,
    temporal_iou,
    tube_boxes_for_id,
    viou,
    vstar_am_lgm,
    vstar_what,
    vstar_when,
    vstar_where,
)


def test_temporal_iou_frames_and_seconds() -> None:
    assert frame_span_iou((0, 4), (2, 6)) == pytest.approx(3 / 7)  # frames 2,3,4 of 0..6
    assert frame_span_iou((3, 3), (3, 3)) == 1.0  # one frame overlapping one frame
    assert frame_span_iou((3, 3), (0, 9)) == pytest.approx(1 / 10)
    assert frame_span_iou((5, 2), (0, 9)) == 0.0
    assert temporal_iou((0, 4), (2, 6), unit="frames") == pytest.approx(3 / 7)
    assert temporal_iou((0.0, 4.0), (2.0, 6.0)) == pytest.approx(2 / 6)
    assert temporal_iou((2.0, 2.0), (2.0, 2.0)) == 0.0  # zero-length union in seconds: 0, not NaN
    assert temporal_iou(None, (1.0, 2.0)) == 0.0


def test_viou_by_hand() -> None:
    gt = {f: (0.0, 0.0, 10.0, 10.0) for f in (2, 3, 4, 5)}
    pred = {0: (0.0, 0.0, 10.0, 10.0), 2: (0.0, 0.0, 10.0, 10.0), 3: (0.0, 0.0, 10.0, 5.0)}
    # intersection frames 2 (IoU 1) and 3 (IoU 0.5); union 0..5 = 6 frames
    assert viou([0, 1, 2, 3], [2, 3, 4, 5], pred, gt) == pytest.approx(1.5 / 6)
    # one-frame overlap is counted
    assert viou([5], [5, 6], {5: (0.0, 0.0, 10.0, 10.0)}, {5: (0.0, 0.0, 10.0, 10.0), 6: (0, 0, 1, 1)}) == 0.5
    # zero-area boxes give 0, not NaN; an empty union gives 0
    flat = {1: (5.0, 5.0, 5.0, 5.0)}
    assert viou([1], [1], flat, flat) == 0.0
    assert viou([], [], {}, {}) == 0.0


def _row() -> dict:
    """fps 10, tracks on even frames 0..18: ID 1 exactly on the ground truth, ID 2 far away."""
    frames, ids, boxes = [], [], []
    for f in range(0, 20, 2):
        for track, dx in ((1, 0.0), (2, 500.0)):
            frames.append(f)
            ids.append(track)
            boxes.append([f + dx, 0.0, f + dx + 10.0, 10.0])
    return {
        "video_fps": 10.0,
        "video_duration_seconds": 2.0,
        "target_id": 1,
        "gt_span_seconds": [0.4, 1.2],
        "gt_frame_indices": [4, 8, 12],
        "gt_boxes": [[4.0, 0.0, 14.0, 10.0], [8.0, 0.0, 18.0, 10.0], [12.0, 0.0, 22.0, 10.0]],
        "tube_frame_indices": frames,
        "tube_pts_seconds": [f / 10.0 for f in frames],
        "tube_track_ids": ids,
        "tube_boxes": boxes,
    }


def test_tube_boxes_for_id_never_borrows() -> None:
    row = _row()
    assert tube_boxes_for_id(row, 9) == {}
    assert tube_boxes_for_id(row, None) == {}
    got = tube_boxes_for_id(row, 1, (0.4, 0.8))
    assert got == {4: (4.0, 0.0, 14.0, 10.0), 6: (6.0, 0.0, 16.0, 10.0), 8: (8.0, 0.0, 18.0, 10.0)}


def test_interpolation_stays_within_one_object_and_gap() -> None:
    boxes = {0: (0.0, 0.0, 10.0, 10.0), 4: (4.0, 0.0, 14.0, 10.0)}
    assert interpolate_boxes(boxes, [2], max_gap_frames=4) == {2: (2.0, 0.0, 12.0, 10.0)}
    assert interpolate_boxes(boxes, [2], max_gap_frames=3) == {}
    assert interpolate_boxes(boxes, [6], max_gap_frames=10) == {}  # no extrapolation


def test_evaluate_stvg_row_by_hand() -> None:
    row = _row()
    # pred span [0.8, 1.6] -> tube frames 8..16 (5); gt span [0.4, 1.2] -> 4..12 (5); overlap 8, 10, 12 with IoU 1
    # (gt at 10 interpolated between annotated 8 and 12); union 4..16 = 7 frames
    res = evaluate_stvg_row(row, 1, (0.8, 1.6))
    assert res.viou == pytest.approx(3 / 7)
    assert res.tiou == pytest.approx(0.4 / 1.2)
    assert res.id_correct and res.parsed and res.n_eval_frames == 7
    assert evaluate_stvg_row(row, 1, (0.8, 1.6), STVGEvalConfig(tiou_unit="frames")).tiou == pytest.approx(3 / 7)
    # wrong ID: its boxes are elsewhere; an ID that was never tracked: no boxes at all (no borrowing)
    assert evaluate_stvg_row(row, 2, (0.4, 1.2)).viou == 0.0
    missing = evaluate_stvg_row(row, 9, (0.4, 1.2))
    assert missing.viou == 0.0 and missing.tiou == pytest.approx(1.0) and not missing.id_correct
    # reversed or missing spans: no frames, vIoU 0
    assert evaluate_stvg_row(row, 1, (1.2, 0.4)).viou == 0.0
    assert evaluate_stvg_row(row, None, None).parsed is False
    # annotated grid: frames 4, 8, 12 only
    assert evaluate_stvg_row(row, 1, (0.8, 1.6), STVGEvalConfig(grid="annotated")).viou == pytest.approx(2 / 3)


def test_span_to_frames_conventions() -> None:
    grid = list(range(0, 20, 2))
    assert frames_in_span(grid, (0.86, 1.65), 10.0, "pts") == [10, 12, 14, 16]
    assert frames_in_span(grid, (0.86, 1.65), 10.0, "truncate") == [8, 10, 12, 14, 16]  # int(8.6) = 8
    assert frames_in_span(grid, (0.86, 1.65), 10.0, "round") == [10, 12, 14, 16]  # round(8.6) = 9
    row = {**_row(), "video_fps": None}
    assert STVGEvalConfig().default_fps == 25.0
    assert evaluate_stvg_row(row, 1, (0.4, 1.2), STVGEvalConfig(default_fps=10.0)).viou == pytest.approx(1.0)


def test_fps_grid_with_cap() -> None:
    assert fps_grid(100, 25.0, 5.0, None) == list(range(0, 100, 5))
    # 20 frames thinned to 10: positions round(i * 19 / 9)
    assert fps_grid(100, 25.0, 5.0, 10) == [0, 10, 20, 30, 40, 55, 65, 75, 85, 95]
    row = _row()
    cfg = STVGEvalConfig(grid="fps", eval_fps=5.0)  # frames 0, 2, ..., 18: the same as the tube grid here
    assert evaluate_stvg_row(row, 1, (0.8, 1.6), cfg).viou == pytest.approx(3 / 7)


def test_summary_thresholds_gt_vs_ge() -> None:
    results = [STVGResult(1.0, 0.5, True, True), STVGResult(0.2, 0.3, True, False), STVGResult(0.0, 0.0, False, False)]
    strict = summarize_stvg(results)
    assert strict["vIoU@0.5"] == 0.0 and strict["vIoU@0.3"] == pytest.approx(1 / 3)
    inclusive = summarize_stvg(results, STVGEvalConfig(comparison=">="))
    assert inclusive["vIoU@0.5"] == pytest.approx(1 / 3) and inclusive["vIoU@0.3"] == pytest.approx(2 / 3)
    assert strict["m_vIoU"] == pytest.approx(0.8 / 3) and strict["m_tIoU"] == pytest.approx(0.4)
    assert strict["n"] == 3.0 and strict["parsed"] == pytest.approx(2 / 3)
    nan = summarize_stvg([STVGResult(math.nan, math.nan, False, False), STVGResult(1.0, 1.0, True, True)])
    assert nan["m_vIoU"] == 0.5  # a NaN never spreads into the mean


def test_moment_retrieval_charades() -> None:
    preds = [(0.0, 10.0), (0.0, 5.0), None]
    gts = [(0.0, 10.0), (0.0, 10.0), (0.0, 10.0)]
    ge = moment_retrieval(preds, gts)
    assert ge["mIoU"] == pytest.approx(0.5)
    assert ge["R1@0.3"] == pytest.approx(2 / 3) and ge["R1@0.5"] == pytest.approx(2 / 3)
    assert ge["R1@0.7"] == pytest.approx(1 / 3)
    assert moment_retrieval(preds, gts, comparison=">")["R1@0.5"] == pytest.approx(1 / 3)


def test_vstar() -> None:
    box = (0.0, 0.0, 10.0, 10.0)
    assert vstar_where({1.0: box}, {1.0: box, 2.0: box}) == 0.5  # missing timestamp scores 0
    assert vstar_where({}, {}) == 0.0
    assert vstar_what([3, 2, 1, 0]) == 0.5
    assert vstar_when([(0.0, 5.0), None, (6.0, 2.0)], [(0.0, 10.0)] * 3) == pytest.approx(0.5 / 3)
    scores = vstar_am_lgm(0.5, 0.5, 0.5)
    assert scores["AM"] == 0.5 and scores["LGM"] == pytest.approx(math.log(2))
    assert math.isfinite(vstar_am_lgm(1.0, 1.0, 1.0)["LGM"])


def test_prediction_text_and_real_demo_row(demo_dataset: Path) -> None:
    assert stvg_prediction_from_text("<answer>Target ID: [4], Time range: 1s to 2s</answer>") == (4, (1.0, 2.0))
    assert stvg_prediction_from_text("nothing") == (None, None)
    shard = sorted((demo_dataset / "data").glob("*.parquet"))[0]
    table = pq.read_table(shard, columns=[c for c in pq.read_schema(shard).names if c != "frames"])
    row = table.slice(0, 1).to_pylist()[0]
    pred_id, span = stvg_prediction_from_text(f"<think>x</think><answer>{row['answer']}</answer>")
    assert pred_id == row["target_id"]
    best = evaluate_stvg_row(row, pred_id, span)
    assert best.tiou == pytest.approx(1.0) and best.id_correct
    assert 0.0 < best.viou <= 1.0
    never = max(row["tube_track_ids"]) + 1
    assert evaluate_stvg_row(row, never, span).viou == 0.0
    pandas_row = table.slice(0, 1).to_pandas().iloc[0].to_dict()
    assert evaluate_stvg_row(pandas_row, pred_id, span).viou == pytest.approx(best.viou)
