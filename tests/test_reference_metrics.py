"""The sources' STVG evaluation, vectors written by hand from their code (vctrain.evaluation.source_rules).

STVG-R1: XiaowZhang00/stvg-r1 evaluate.py (233-236 `int(t * fps)`, 241-253 overlap and union frames, 256 one-frame
overlap scores 0, 274-277 frames without mask data skipped, 317-327 HC-STVG `[x, y, w, h]` from `st_frame`, an empty
entry no box, 59-77 box IoU, 45-57 mask boxes end on the last pixel, 559-560 tIoU, 580 `>=`).
TubeDETR: antoyang/TubeDETR datasets/hcstvg_eval.py (56-75 the frame grid, 79-87 ground-truth frames half-open,
118-131 tIoU, 139-151 union and intersection frames, 158-178 first box and a missing prediction, 181 vIoU over
max(|union|, 1), 185 `>`), util/box_ops.py 31-62 (IoU without clamps, 0/0 is NaN).
"""

from __future__ import annotations

import math

import pytest

from tests.reference_vectors import TOLERANCE
from vctrain.evaluation.metrics import STVGEvalConfig, passes, summarize_stvg, temporal_iou
from vctrain.evaluation.source_rules import (
    last_pixel_box,
    stvg_r1_tiou,
    stvg_r1_viou,
    tubedetr_frame_ids,
    tubedetr_sample,
)

# ---------------------------------------------------------------- STVG-R1 tIoU (559-560)
STVG_R1_TIOU = [
    ((12.54, 17.83), (10.0, 20.0), (17.83 - 12.54) / 10),
    ((20.0, 10.0), (10.0, 20.0), 0.0),  # 559: (10 - 20) / 10 < 0, 560 clips
    ((0.0, 5.0), (10.0, 20.0), 0.0),  # 560: negative overlap clipped
    ((5.0, 25.0), (10.0, 20.0), 0.5),
    ((10.0, 20.0), (10.0, 20.0), 1.0),
    ((15.0, 15.0), (10.0, 20.0), 0.0),  # zero-length prediction
    ((0.0, 10.0), (10.0, 20.0), 0.0),  # touching
    ((10.0, 15.0), (10.0, 20.0), 0.5),
    ((12.0, 30.0), (10.0, 20.0), 0.4),
    ((0.0, 40.0), (10.0, 20.0), 0.25),
    ((18.0, 12.0), (10.0, 20.0), 0.0),  # 559: reversed inside the truth, (12 - 18) / 10
    ((25.0, 5.0), (10.0, 20.0), 0.0),  # 559: reversed around it, (5 - 25) / 10
    ((15.0, 15.0), (15.0, 15.0), 0.0),  # 559: 0 / 0 raises there (the sample is dropped); 0 here
    ((10.5, 19.5), (10.0, 20.0), 0.9),
    ((9.99, 20.01), (10.0, 20.0), 10 / (20.01 - 9.99)),
    ((19.99, 30.0), (10.0, 20.0), (20 - 19.99) / 20),
    ((0.0, 0.04), (0.0, 0.04), 1.0),
    ((12.0, 18.0), (10.0, 20.0), 0.6),
    ((3.0, 11.0), (10.0, 20.0), 1 / 17),
    ((10.0, 10.0001), (10.0, 20.0), (10.0001 - 10) / 10),
]


@pytest.mark.parametrize(("pred", "gt", "reference"), STVG_R1_TIOU)
def test_stvg_r1_tiou(pred: tuple, gt: tuple, reference: float) -> None:
    assert stvg_r1_tiou(pred, gt) == pytest.approx(reference, abs=TOLERANCE)
    assert temporal_iou(pred, gt) == pytest.approx(reference, abs=TOLERANCE)  # the default agrees on every vector


# ---------------------------------------------------------------- STVG-R1 vIoU (204-336)
EXACT = {f: (10.0, 10.0, 30.0, 30.0) for f in range(0, 400)}
MASK = {f: last_pixel_box(b) for f, b in EXACT.items()}  # 53-54: (10, 10, 29, 29)
SHIFTED = {f: (20.0, 10.0, 40.0, 30.0) for f in range(0, 400)}
GT21 = [(10.0, 10.0, 20.0, 20.0)] * 21  # frames 100..120 at 10 fps


def with_hole(index: int, hole: object) -> list:
    out = list(GT21)
    out[index] = hole
    return out


# pred span, gt span, fps, predicted boxes, HC-STVG list, st_frame, tracked frames, reference vIoU
STVG_R1_VIOU = [
    ((10.0, 12.0), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 1.0),  # 241-336: 21 frames of IoU 1 over 21
    ((10.0, 12.0), (10.0, 12.0), 10.0, MASK, GT21, 100, None, 0.9025),  # 53-54: 19 x 19 / 20 x 20
    ((11.0, 12.0), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 11 / 21),  # 241-253
    ((12.0, 13.0), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 0.0),  # 256: overlap 120..120 is one frame
    ((12.0, 12.05), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 0.0),  # 234-235, 256: int(120.5) = 120
    ((11.99, 13.0), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 2 / 31),  # 234: int(119.9) = 119
    ((13.0, 14.0), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 0.0),  # 256: no overlap
    ((10.09, 12.0), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 1.0),  # 234: int(100.9) = 100
    ((9.5, 12.5), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 21 / 31),  # 253: union 95..125
    ((10.0, 12.0), (10.0, 12.0), 10.0, EXACT, with_hole(10, None), 100, None, 20 / 21),  # 323: no entry, IoU 0
    ((10.0, 12.0), (10.0, 12.0), 10.0, EXACT, with_hole(5, []), 100, None, 20 / 21),  # 323: empty entry is falsy
    ((10.0, 12.0), (10.0, 12.0), 10.0, EXACT, GT21, 100, set(range(100, 121, 2)), 11 / 21),  # 276-277
    ((10.0, 13.0), (10.0, 13.0), 10.0, EXACT, GT21, 100, None, 21 / 31),  # 321: past the list, no box
    ((10.0, 12.0), (10.0, 12.0), 10.0, EXACT, GT21, 101, None, 20 / 21),  # 320: frame 100 is index -1
    ((10.0, 12.0), (10.0, 12.0), 10.0, SHIFTED, GT21, 100, None, 1 / 3),  # 59-77: 200 / 600
    ((10.0, 12.0), (10.0, 12.0), 25.0, EXACT, [(10.0, 10.0, 20.0, 20.0)] * 51, 250, None, 1.0),  # 571: fps 25
    ((10.0, 12.0), (10.0, 12.0), 10.0, {f: (10.0, 10.0, 10.0, 30.0) for f in range(400)}, GT21, 100, None,
     0.0),  # 69: zero width
    ((12.0, 10.0), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 0.0),  # 256: reversed, 120 >= 100
    ((0.0, 20.0), (10.0, 12.0), 10.0, EXACT, GT21, 100, None, 21 / 201),  # 253: union 0..200
    ((10.0, 12.0), (10.0, 10.05), 10.0, EXACT, GT21, 100, None, 0.0),  # 235, 256: gt frames 100..100
    ((1.16, 2.0), (1.16, 2.0), 25.0, EXACT, [(10.0, 10.0, 20.0, 20.0)] * 22, 29, None, 22 / 23),  # 234: 28.999...
    ((10.0, 12.0), (10.0, 12.0), 10.0, {}, GT21, 100, set(), 0.0),  # 276-277: no mask data at all
]


@pytest.mark.parametrize(("pred", "gt", "fps", "boxes", "xywh", "first", "tracked", "reference"), STVG_R1_VIOU)
def test_stvg_r1_viou(pred, gt, fps, boxes, xywh, first, tracked, reference) -> None:
    assert stvg_r1_viou(pred, gt, fps, boxes, xywh, first, tracked) == pytest.approx(reference, abs=TOLERANCE)


def test_stvg_r1_threshold_is_inclusive_and_default_strict() -> None:
    """580: `thresh <= viou`; TubeDETR (185) and the default use `>`."""
    assert passes(0.5, 0.5, ">=") and not passes(0.5, 0.5, ">")
    from vctrain.evaluation.metrics import STVGResult

    results = [STVGResult(tiou=0.5, viou=0.5, parsed=True, id_correct=True)]
    assert summarize_stvg(results, STVGEvalConfig(comparison=">="))["vIoU@0.5"] == 1.0
    assert summarize_stvg(results)["vIoU@0.5"] == 0.0


# ---------------------------------------------------------------- TubeDETR frame grid (56-75)
FRAME_IDS = [
    ((400,), list(range(0, 400, 4))),  # 20 fps: every 4th frame, 399 never
    ((100,), list(range(0, 99))),  # 5 fps: every frame but the last
    ((200,), list(range(0, 199, 2))),
    ((800,), list(range(0, 800, 8))),
    ((1600,), list(range(0, 1600, 16))),
    ((400, 5.0, 50), list(range(0, 400, 8))),  # 70-75: ids[(j * 100) // 50]
    ((400, 5.0, 30), [4 * ((j * 100) // 30) for j in range(30)]),  # 70-75
    ((400, 5.0, 200), list(range(0, 400, 4))),  # 70: not over the cap
    ((100, 2.5), list(range(0, 99, 2))),
    ((100, 5.0, 10), [((j * 99) // 10) for j in range(10)]),  # 70-75 on 99 frames
    ((400, 2.5), list(range(0, 400, 8))),  # rate 1/8
    ((400, 1.25), list(range(0, 400, 16))),  # rate 1/16
    ((400, 10.0), list(range(0, 399, 2))),  # rate 1/2: 398 is the last sampled
    ((400, 20.0), [(j * 399) // 200 for j in range(200)]),  # rate 1: 399 frames, thinned to the default 200
    ((100, 1.25), list(range(0, 99, 4))),  # rate 1/4
    ((800, 5.0, 64), [8 * ((j * 100) // 64) for j in range(64)]),  # 70-75
    ((200, 5.0, 100), list(range(0, 199, 2))),  # exactly at the cap: unchanged
    ((200, 5.0, 99), [2 * ((j * 100) // 99) for j in range(99)]),  # one over the cap
    ((400, 5.0, 1), [0]),  # 72-75: j = 0 only
    ((100, 5.0, 98), [((j * 99) // 98) for j in range(98)]),  # 99 frames thinned to 98
]


@pytest.mark.parametrize(("args", "reference"), FRAME_IDS)
def test_tubedetr_frame_ids(args: tuple, reference: list[int]) -> None:
    assert tubedetr_frame_ids(*args) == reference


@pytest.mark.parametrize("frame_count", [1, 2, 99])
def test_tubedetr_refuses_to_upsample(frame_count: int) -> None:
    with pytest.raises(ValueError):  # 61: assert sampling_rate <= 1
        tubedetr_frame_ids(frame_count)


# ---------------------------------------------------------------- TubeDETR tIoU and vIoU (118-185)
GRID = list(range(0, 400, 4))
TRAJ = [(10.0, 10.0, 20.0, 20.0)] * 100  # frames 100..199
ONE = {f: [(10.0, 10.0, 30.0, 30.0)] for f in GRID}
FIRST_WRONG = {f: [(0.0, 0.0, 5.0, 5.0), (10.0, 10.0, 30.0, 30.0)] for f in GRID}
SHIFT = {f: [(20.0, 10.0, 40.0, 30.0)] for f in GRID}
HOLE = {f: b for f, b in ONE.items() if f != 120}
FLAT = [(10.0, 10.0, 0.0, 0.0)] * 100

# pred sted, gt sted, grid, trajectory, predictions, (tIoU, vIoU)
TUBEDETR = [
    ((100, 200), (100, 200), GRID, TRAJ, ONE, (1.0, 1.0)),  # 25 frames of IoU 1 over 25
    ((150, 250), (100, 200), GRID, TRAJ, ONE, (50 / 150, 12 / 38)),  # 139-151: [150, 200) on the grid, 12
    ((200, 300), (100, 200), GRID, TRAJ, ONE, (0.0, 0.0)),  # 122: min_end <= max_start
    ((199, 300), (100, 200), GRID, TRAJ, ONE, (1 / 200, 0.0)),  # 124-128: one frame; no grid frame in [199, 200)
    ((0, 400), (100, 200), GRID, TRAJ, ONE, (0.25, 0.25)),
    ((100, 200), (100, 200), GRID, TRAJ, FIRST_WRONG, (1.0, 0.0)),  # 161: pred_boxes[0] only
    ((100, 200), (100, 200), GRID, TRAJ, SHIFT, (1.0, 1 / 3)),
    ((100, 200), (100, 200), GRID, TRAJ, {f: b for f, b in ONE.items() if f != 300}, (1.0, 1.0)),  # 158: gt frames
    ((200, 100), (100, 200), GRID, TRAJ, ONE, (0.0, 0.0)),  # 122: reversed; intersection [200, 100) empty
    ((100, 104), (100, 200), GRID, TRAJ, ONE, (0.04, 1 / 25)),
    ((101, 104), (100, 200), GRID, TRAJ, ONE, (0.03, 0.0)),  # 147: no grid frame in [101, 104)
    ((96, 104), (100, 200), GRID, TRAJ, ONE, (4 / 104, 1 / 26)),
    ((100, 101), (100, 200), GRID, TRAJ, ONE, (0.01, 1 / 25)),  # half-open: [100, 101) holds frame 100
    ((101, 103), (101, 103), GRID, TRAJ[:2], ONE, (1.0, 0.0)),  # 181: no grid frame, 0 / max(0, 1)
    ((100, 200), (100, 200), list(range(0, 400, 8)), TRAJ, ONE, (1.0, 1.0)),  # thinned grid: 13 frames
    ((150, 250), (100, 200), GRID, TRAJ, SHIFT, (50 / 150, 12 / 3 / 38)),
    ((100, 200), (100, 200), GRID, TRAJ, {f: [(10.0, 10.0, 10.0, 30.0)] for f in GRID}, (1.0, 0.0)),  # zero area
    ((100, 200), (100, 200), GRID, TRAJ, {f: [(30.0, 30.0, 10.0, 10.0)] for f in GRID}, (1.0, 0.0)),  # inverted
    ((0, 100), (100, 200), GRID, TRAJ, ONE, (0.0, 0.0)),  # touching
    ((120, 180), (100, 200), GRID, TRAJ, ONE, (0.6, 15 / 25)),  # [120, 180): 15 frames over the union's 25
    ((100, 200), (100, 200), GRID, FLAT, {f: [(10.0, 10.0, 10.0, 10.0)] for f in GRID}, (1.0, math.nan)),  # 0/0
]


@pytest.mark.parametrize(("pred", "gt", "grid", "traj", "boxes", "reference"), TUBEDETR)
def test_tubedetr_sample(pred, gt, grid, traj, boxes, reference) -> None:
    tiou, viou = tubedetr_sample(pred, gt, grid, traj, boxes)
    assert tiou == pytest.approx(reference[0], abs=TOLERANCE)
    assert viou == pytest.approx(reference[1], abs=TOLERANCE, nan_ok=True)
    if pred[1] >= pred[0]:  # the default's continuous tIoU over [s, e) frames agrees
        assert temporal_iou(pred, gt) == pytest.approx(reference[0], abs=TOLERANCE)


def test_tubedetr_missing_prediction_raises_or_scores_zero() -> None:
    with pytest.raises(RuntimeError):  # 159-160
        tubedetr_sample((100, 200), (100, 200), GRID, TRAJ, HOLE)
    assert tubedetr_sample((100, 200), (100, 200), GRID, TRAJ, HOLE, missing="zero")[1] == pytest.approx(24 / 25)


# ---------------------------------------------------------------- the convention switch of `vctrain eval`
ROW = {
    "task": "stvg", "target_id": 3, "video_fps": 10.0, "video_duration_seconds": 20.0, "gt_span_seconds": [10.0, 12.0],
    "gt_frame_indices": list(range(100, 121)), "gt_boxes": [[10.0, 10.0, 30.0, 30.0]] * 21,
    "tube_frame_indices": list(range(100, 121)), "tube_track_ids": [3] * 21,
    "tube_pts_seconds": [f / 10 for f in range(100, 121)], "tube_boxes": [[10.0, 10.0, 30.0, 30.0]] * 21,
}  # fmt: skip


@pytest.mark.parametrize(
    ("convention", "tiou", "viou", "comparison"),
    [("default", 1.0, 1.0, ">"), ("stvg_r1", 1.0, 0.9025, ">="), ("tubedetr", 20 / 21, 10 / 11, ">")],
)
def test_eval_convention_sets_the_sources_rules(convention: str, tiou: float, viou: float, comparison: str) -> None:
    from vctrain.config import EvalConfig
    from vctrain.evaluation.evaluate import stvg_eval_config
    from vctrain.evaluation.metrics import evaluate_stvg_row

    cfg = stvg_eval_config(EvalConfig(convention=convention))
    result = evaluate_stvg_row(ROW, 3, (10.0, 12.0), cfg)
    assert (result.tiou, result.viou) == pytest.approx((tiou, viou), abs=TOLERANCE)
    assert cfg.comparison == comparison
    # one key set by hand overrides the convention's choice
    assert stvg_eval_config(EvalConfig(convention=convention, comparison=">=")).comparison == ">="


def test_tubedetr_scores_a_fractional_predicted_frame_unrounded() -> None:
    """hcstvg_eval.py takes `pred_sted = video_pred["sted"]` as given (no int(), no round()) and compares it with the
    integer frame ids (118-151). ROW: 10 fps, 20 s, so the grid is 0, 2, ..., 198 (56-75: rate 5 / 10 = 0.5);
    ground truth [100, 121). Predicted 10.04-11.96 s = frames 100.4-119.6:
    tIoU: intersection 119.6 - 100.4 = 19.2, union 21 + 19.2 - 19.2 = 21 -> 19.2 / 21 (rounded to [100, 120): 20 / 21);
    vIoU: union frames [100, 121) on the grid = 100..120, 11 frames; intersection [100.4, 119.6) = 102..118, 9 frames
    of IoU 1 -> 9 / 11 (rounded: 100..118, 10 / 11)."""
    from vctrain.config import EvalConfig
    from vctrain.evaluation.evaluate import stvg_eval_config
    from vctrain.evaluation.metrics import evaluate_stvg_row

    result = evaluate_stvg_row(ROW, 3, (10.04, 11.96), stvg_eval_config(EvalConfig(convention="tubedetr")))
    assert (result.tiou, result.viou) == pytest.approx((19.2 / 21, 9 / 11), abs=TOLERANCE)
    # the same sted straight into the source's function
    grid = list(range(0, 199, 2))
    traj, boxes = [(10.0, 10.0, 20.0, 20.0)] * 21, {f: [(10.0, 10.0, 30.0, 30.0)] for f in grid}
    assert tubedetr_sample((100.4, 119.6), (100, 121), grid, traj, boxes) == pytest.approx((19.2 / 21, 9 / 11))


def test_eval_convention_falls_back_to_the_top_level_one_and_is_checked() -> None:
    from vctrain.config import EvalConfig, load_config
    from vctrain.evaluation.evaluate import moment_comparison, stvg_eval_config

    assert stvg_eval_config(EvalConfig(), "stvg_r1").rule == "stvg_r1"
    assert moment_comparison(EvalConfig(), "time_r1") == ">" and moment_comparison(EvalConfig()) == ">="
    with pytest.raises(ValueError, match="convention"):
        stvg_eval_config(EvalConfig(convention="tube_detr"))
    cfg = load_config(None, ["convention=stvg_r1", "rewards={tiou: 1.0, id_match: 1.0}",
                             "reward_params={id_match: {convention: default}}"])  # fmt: skip
    assert cfg.reward_params == {"tiou": {"convention": "stvg_r1"}, "id_match": {"convention": "default"}}


@pytest.mark.parametrize(
    ("convention", "miou", "r1_at_05"),
    [("default", 0.0, 0.0), ("time_r1", 0.6, 1.0), ("visioncoach", 0.0, 0.0)],
)
def test_eval_reads_temporal_answers_by_the_convention(convention: str, miou: float, r1_at_05: float) -> None:
    """Time-R1 takes the last `s to e` (main.py 137-141); VisionCoach reads only `<t>s</t>s to <t>e</t>s`."""
    from vctrain.config import load_config
    from vctrain.evaluation.evaluate import score_answers

    row = {"task": "temporal_qa", "sample_id": "c", "gt_span_seconds": [10.0, 20.0], "video_duration_seconds": 40.0}
    cfg = load_config(None, [f"convention={convention}", "rewards={tiou: 1.0}"])
    metrics, _ = score_answers([row], ["<answer>from 0 to 5 then 12 to 18</answer>"], cfg)
    assert metrics["moment"]["mIoU"] == pytest.approx(miou, abs=TOLERANCE)
    assert metrics["moment"]["R1@0.5"] == r1_at_05
    assert metrics["rewards"]["tiou"] == pytest.approx(miou, abs=TOLERANCE)


# ---------------------------------------------------------------- STVG-R1 boxes for an absent ID (262-314)
A, B, C, E = (0.0, 0.0, 10.0, 10.0), (20.0, 20.0, 40.0, 40.0), (5.0, 0.0, 15.0, 10.0), (10.0, 0.0, 20.0, 10.0)
ALL = {1: A, 2: B, 3: C}

# objects per frame, predicted ID, first, last, reference boxes
FALLBACK = [
    ({f: ALL for f in range(4)}, 1, 0, 3, {0: A, 1: A, 2: A, 3: A}),  # 268-272: its own box
    ({0: ALL, 1: ALL, 2: {2: B, 3: C}, 3: ALL}, 1, 0, 3, {0: A, 1: A, 2: C, 3: A}),  # 284, 186-199: C overlaps A
    ({0: ALL, 1: {2: B}, 2: ALL}, 1, 0, 2, {0: A, 1: B, 2: A}),  # 198-200: no overlap, the largest
    ({0: ALL, 1: {}, 2: ALL}, 1, 0, 2, {0: A, 1: A, 2: A}),  # 290, 118-152: empty frame, the last valid box
    ({0: {2: B, 3: C}, 1: {2: B, 3: C}, 2: ALL}, 1, 0, 2, {0: C, 1: C, 2: A}),  # 295, 79-116 then 284
    ({f: ALL for f in range(3)}, 7, 0, 2, {0: B, 1: B, 2: B}),  # 307-309: an unknown ID borrows the largest
    ({0: ALL, 2: ALL}, 1, 0, 2, {0: A, 2: A}),  # 276-277: frame 1 has no mask data
    ({0: ALL, 1: {3: C}, 2: {4: E, 2: B}}, 1, 0, 2, {0: A, 1: C, 2: B}),  # 286-287: continuation keeps A as current
    ({0: {2: (5.0, 5.0, 5.0, 9.0)}}, 1, 0, 0, {0: None}),  # 165-169: zero area is never the largest
    ({f: ALL for f in range(6)}, 1, 2, 4, {2: A, 3: A, 4: A}),  # 262: from the overlap's first frame
    ({0: {2: B, 3: C}, 1: ALL}, 1, 1, 1, {1: A}),  # frames before the range are not read
    ({0: {2: B, 3: C}, 1: {2: B, 3: C}}, 1, 0, 1, {0: B, 1: B}),  # 81-82: the ID is nowhere in range, the largest
]


@pytest.mark.parametrize(("objects", "pred_id", "first", "last", "reference"), FALLBACK)
def test_stvg_r1_boxes_for_an_absent_id(objects, pred_id, first, last, reference) -> None:
    from vctrain.evaluation.source_rules import stvg_r1_predicted_boxes

    assert stvg_r1_predicted_boxes(objects, pred_id, first, last) == reference


def test_stvg_r1_convention_lets_a_wrong_id_borrow_the_target_box() -> None:
    """A predicted ID that was never tracked takes the largest object's box on every frame (307-309): here the
    target's, so a wrong answer earns STVG-R1's full vIoU (0.9025 with last-pixel boxes); the default gives 0."""
    from vctrain.config import EvalConfig
    from vctrain.evaluation.evaluate import stvg_eval_config
    from vctrain.evaluation.metrics import evaluate_stvg_row

    assert evaluate_stvg_row(ROW, 9, (10.0, 12.0), stvg_eval_config(EvalConfig(convention="stvg_r1"))).viou == (
        pytest.approx(0.9025, abs=TOLERANCE)
    )
    assert evaluate_stvg_row(ROW, 9, (10.0, 12.0)).viou == 0.0
