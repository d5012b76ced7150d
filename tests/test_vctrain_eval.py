"""`vctrain eval`: STVG-R1 answers become boxes from the row's tube columns; conventions are parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vctrain.cli import app
from vctrain.config import load_config
from vctrain.data.reader import index_rows, load_sample
from vctrain.evaluation.evaluate import score_answers
from vctrain.tools.tiny import build_tiny_qwen25vl


def iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


@pytest.fixture(scope="module")
def raw_row(demo_dataset: Path) -> dict:
    return load_sample(index_rows([str(demo_dataset)], "raw")[0], max_frames=4).row


def answer(target_id: int, start: float, end: float) -> str:
    return f"<think>the walker</think><answer>Target ID: {target_id}, Time range: {start:.2f} to {end:.2f}</answer>"


def by_hand_viou(row: dict, track_id: int) -> float:
    """vIoU on the annotated frames when the predicted span equals the ground truth: the mean over annotated
    frames of IoU(tube box of `track_id` at that frame, ground-truth box); a frame without the track scores 0."""
    tube = {
        (int(f), int(t)): box for f, t, box in zip(row["tube_frame_indices"], row["tube_track_ids"], row["tube_boxes"])
    }
    ious = [iou(tube[(int(f), track_id)], gt) if (int(f), track_id) in tube else 0.0
            for f, gt in zip(row["gt_frame_indices"], row["gt_boxes"])]  # fmt: skip
    return sum(ious) / len(ious)


def test_stvg_answer_becomes_boxes_from_the_tubes(raw_row: dict) -> None:
    row = raw_row
    cfg = load_config(None, ["eval.grid=annotated", "rewards={format_stvg: 1.0, tiou: 1.0, id_match: 1.0}"])
    start, end = row["gt_span_seconds"]
    target = int(row["target_id"])
    others = sorted({int(t) for t in row["tube_track_ids"]} - {target})
    texts = [answer(target, start, end), answer(others[0], start, end), answer(target, end, start), "no answer"]
    metrics, records = score_answers([row] * 4, texts, cfg)

    assert records[0]["tiou"] == pytest.approx(1.0, abs=1e-9)
    assert records[0]["viou"] == pytest.approx(by_hand_viou(row, target), abs=1e-6)
    assert records[0]["viou"] > 0.2  # the matched track really overlaps the walker
    assert records[1]["viou"] == pytest.approx(by_hand_viou(row, others[0]), abs=1e-6)  # wrong ID: its own boxes
    assert records[1]["viou"] < records[0]["viou"]
    assert records[2]["tiou"] == 0.0 and records[2]["viou"] == 0.0  # reversed span
    assert records[3]["pred_id"] is None and records[3]["viou"] == 0.0  # unparsable, still counted
    stvg = metrics["stvg"]
    assert stvg["n"] == 4
    assert stvg["id_accuracy"] == pytest.approx(2 / 4)  # the right ID in answers 0 and 2
    assert stvg["m_vIoU"] == pytest.approx((records[0]["viou"] + records[1]["viou"]) / 4, abs=1e-9)
    assert stvg["oracle_m_vIoU"] == pytest.approx(row["oracle_viou"])
    assert metrics["rewards"]["format_stvg"] == pytest.approx(3 / 4)
    # per sample, for viewers: each reward, and the boxes the answer stands for (the ID's tube inside the span)
    assert [r["rewards"]["format_stvg"] for r in records] == [1.0, 1.0, 1.0, 0.0]
    assert [records[i]["rewards"]["id_match"] for i in (0, 1, 3)] == [1.0, 0.0, 0.0]  # right, wrong, no answer
    in_span = {str(f): [float(v) for v in box]
               for f, t, box, pts in zip(row["tube_frame_indices"], row["tube_track_ids"], row["tube_boxes"],
                                         row["tube_pts_seconds"])
               if t == target and start <= pts <= end}  # fmt: skip
    assert records[0]["pred_boxes"] == in_span and len(in_span) > 0
    assert records[2]["pred_boxes"] == {}  # reversed span: no frame is inside it


def test_eval_records_the_reasonings_claims(raw_row: dict) -> None:
    text = ("<think><obj>man</obj><box>[10, 20, 30, 40]</box>at<t>5.5</t>s</think>"
            "<answer>Target ID: 1, Time range: 1 to 2</answer>")
    _, records = score_answers([raw_row], [text], load_config(None, []))
    assert records[0]["claims"] == [{"name": "man", "boxes": [[10.0, 20.0, 30.0, 40.0]], "time_seconds": 5.5}]


def test_threshold_comparison_is_a_parameter(raw_row: dict) -> None:
    start, end = raw_row["gt_span_seconds"]
    text = answer(int(raw_row["target_id"]), start, end)
    _, per_sample = score_answers([raw_row], [text], load_config(None, ["eval.grid=annotated"]))
    exact = per_sample[0]["viou"]  # the threshold is the metric's own value, so IoU == R holds bit for bit
    assert exact == pytest.approx(by_hand_viou(raw_row, int(raw_row["target_id"])), abs=1e-12)
    base = ["eval.grid=annotated", f"eval.thresholds=[{exact!r}]"]
    strict, _ = score_answers([raw_row], [text], load_config(None, [*base, "eval.comparison=>"]))
    loose, _ = score_answers([raw_row], [text], load_config(None, [*base, "eval.comparison=>="]))
    key = f"vIoU@{exact:g}"
    assert strict["stvg"][key] == 0.0 and loose["stvg"][key] == 1.0  # TubeDETR `>` vs STVG-R1 `>=` at IoU == R


def test_eval_cli_writes_json_and_table(demo_dataset: Path, tmp_path: Path) -> None:
    model = build_tiny_qwen25vl(tmp_path / "tiny")
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(
        f"data: {{shards: [{demo_dataset}], max_frames: 4, max_pixels_per_frame: 3136, min_pixels_per_frame: 784}}\n"
        "eval: {variant: id_tags, max_new_tokens: 8, grid: fps, eval_fps: 5.0, max_eval_frames: 200}\n"
        "progress: false\n"
    )
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["eval", str(cfg), "--checkpoint", str(model), f"eval.output={out}"])
    assert result.exit_code == 0, result.output
    assert "m_vIoU" in result.output and str(out) in result.output
    report = json.loads(out.read_text())
    assert report["conventions"]["eval_fps"] == 5.0 and report["variant"] == "id_tags"
    assert report["metrics"]["stvg"]["n"] == 1 and len(report["samples"]) == 1
    bad = CliRunner().invoke(app, ["eval", str(cfg), "--checkpoint", str(model), "eval.comparison=~"])
    assert bad.exit_code == 2 and "eval.comparison" in bad.output
