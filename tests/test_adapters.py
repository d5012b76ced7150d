"""The rewards behind verl's, EasyR1's and TRL's signatures, by hand and on real `vcprep export` rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from transformers import TrainerState

from vctrain.adapters import (
    compute_score,
    easyr1_compute_score,
    ground_truth_from_any,
    make_trl_reward,
    trl_reward_functions,
    verl_compute_score,
)
from vctrain.rewards import REWARDS

GT_TEXT = "Target ID: 3, Time range: 10.00 to 20.00"
GOOD = "<think>the man on the left</think><answer>Target ID: 3, Time range: 12 to 17</answer>"
# format 1 + tIoU [12,17] vs [10,20] = 0.5 + ID 1
GOOD_TOTAL = 2.5
ST_ROW = {"task": "st_reasoning", "answer": "he walks", "gt_span_seconds": [1.0, 5.0], "gt_pts_seconds": [2.0],
          "gt_boxes": [[0.0, 0.0, 10.0, 10.0]], "object_names": ["man"]}
ST_COMPLETION = "<think><obj>man</obj><box>[0,0,10,10]</box>at<t>3.0</t>s</think><answer>he walks</answer>"


def test_ground_truth_from_answer_text_json_and_columns() -> None:
    from_text = ground_truth_from_any(GT_TEXT)
    assert from_text.task == "stvg" and from_text.target_id == 3 and from_text.span_seconds == (10.0, 20.0)
    from_json = ground_truth_from_any('{"task": "mcq", "answer": "B", "options": ["x", "y"]}')
    assert from_json.task == "mcq" and from_json.answer == "B" and from_json.options == ("x", "y")
    # structured columns win over the answer text
    columns = {"task": "stvg", "target_id": 5, "gt_span_seconds": [1.0, 2.0], "video_duration_seconds": 30.0}
    merged = ground_truth_from_any(GT_TEXT, columns)
    assert merged.target_id == 5 and merged.span_seconds == (1.0, 2.0) and merged.duration_seconds == 30.0


def test_verl_signature() -> None:
    out = verl_compute_score("vcprep/demo", GOOD, GT_TEXT, {"split": "train", "index": 0})
    assert out["score"] == pytest.approx(GOOD_TOTAL)
    assert out["tiou"] == pytest.approx(0.5) and out["id_match"] == 1.0 and out["format_stvg"] == 1.0
    assert verl_compute_score("vcprep/demo", "garbage", GT_TEXT)["score"] == 0.0
    weighted = verl_compute_score("vcprep/demo", GOOD, GT_TEXT, None, weights={"tiou": 2.0})
    assert weighted["score"] == pytest.approx(1.0)
    # VisionCoach row: format 1 + accuracy (ROUGE of identical text) 1 + spatial 1 + point at progress p; the segment
    # reward pays 0 on spatio-temporal free-form rows, as VisionCoach's (reward_func.py 407)
    out = verl_compute_score("vcprep/stgr", ST_COMPLETION, None, {**ST_ROW, "progress": 0.9})
    assert out["temporal_point"] == pytest.approx(math.exp(-0.5))  # dt 1, sigma 1
    assert out["temporal_segment"] == 0.0 and out["score"] == pytest.approx(3.0 + math.exp(-0.5))


def test_easyr1_signature_sequential_and_batch() -> None:
    one = easyr1_compute_score({"response": GOOD, "response_length": 20, "ground_truth": GT_TEXT})
    assert isinstance(one, dict) and one["overall"] == pytest.approx(GOOD_TOTAL)
    batch = easyr1_compute_score([
        {"response": GOOD, "response_length": 20, "ground_truth": GT_TEXT},
        {"response": "<think>", "response_length": 1, "ground_truth": GT_TEXT},
        {"response": GOOD, "response_length": 20, "ground_truth": "Target ID: 4, Time range: 12 to 17"},
    ])
    assert isinstance(batch, list)
    assert [b["overall"] for b in batch] == [pytest.approx(GOOD_TOTAL), 0.0, pytest.approx(2.0)]


def test_trl_signature() -> None:
    reward = make_trl_reward()
    completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": [{"type": "text",
                                                                                              "text": "nope"}]}]]
    prompts = [[{"role": "user", "content": "q"}]] * 2
    got = reward(prompts, completions, solution=[GT_TEXT, GT_TEXT], task=["stvg", "stvg"])
    assert got == [pytest.approx(GOOD_TOTAL), 0.0]
    point = trl_reward_functions(["temporal_point"])[0]
    assert point.__name__ == "temporal_point"
    columns = {key: [value] for key, value in ST_ROW.items()}
    early = point(["q"], [ST_COMPLETION], trainer_state=TrainerState(global_step=0, max_steps=10), **columns)
    late = point(["q"], [ST_COMPLETION], trainer_state=TrainerState(global_step=9, max_steps=10), **columns)
    assert early == [pytest.approx(math.exp(-1 / 32))]  # sigma 4
    assert late == [pytest.approx(math.exp(-0.5))]  # sigma 1
    with pytest.raises(KeyError):
        trl_reward_functions(["nope"])


@pytest.mark.parametrize("layout", ["verl", "easyr1", "trl"])
def test_real_export_rows_score_their_own_answer(demo_dataset: Path, tmp_path: Path, layout: str) -> None:
    from vcprep.dataset.export import export_dataset

    result = export_dataset(demo_dataset, tmp_path / layout, to=layout, variants=["raw"])
    rows = pq.read_table(result.path).to_pylist()
    assert rows
    for row in rows:
        if layout == "verl":
            truth = row["reward_model"]["ground_truth"]
            total = verl_compute_score(row["data_source"], f"<think>x</think><answer>{truth}</answer>", truth,
                                       row["extra_info"])["score"]
        elif layout == "easyr1":  # the answer column is the whole ground truth, as JSON
            truth = json.loads(row["answer"])
            row["target_id"] = truth["target_id"]
            total = easyr1_compute_score({"response": f"<think>x</think><answer>{truth['answer'] or ''}</answer>",
                                          "response_length": 9, "ground_truth": row["answer"]})["overall"]
        else:
            columns = {k: [v] for k, v in row.items() if k not in ("prompt",)}
            text = f"<think>x</think><answer>{row['solution']}</answer>"
            total = make_trl_reward()([row["prompt"]], [text], **columns)[0]
        expected = 3.0 if row.get("target_id", row.get("extra_info", {}).get("target_id")) is not None else 1.0
        assert total == pytest.approx(expected, abs=1e-6)


def test_one_key_set_for_every_task_and_one_entry_point_for_verl_and_easyr1() -> None:
    """verl and EasyR1 build their metric arrays from the first row's keys: an STVG row and a VisionCoach row must
    answer with the same keys (the total plus every reward in REWARDS)."""
    stvg = verl_compute_score("vcprep/demo", GOOD, GT_TEXT)
    st = verl_compute_score("vcprep/stgr", ST_COMPLETION, None, ST_ROW)
    assert set(stvg) == set(st) == {"score", *REWARDS}
    assert stvg["score"] == pytest.approx(GOOD_TOTAL)  # unweighted rewards are logged, not added
    # verl calls by keyword, EasyR1 with one positional dict (sequential) or list (batch)
    by_verl = compute_score(data_source="vcprep/demo", solution_str=GOOD, ground_truth=GT_TEXT, extra_info={})
    assert by_verl == stvg
    by_easyr1 = compute_score([{"response": GOOD, "response_length": 20, "ground_truth": GT_TEXT}])
    assert by_easyr1[0]["overall"] == by_verl["score"] and set(by_easyr1[0]) == {"overall", *REWARDS}
    assert compute_score({"response": GOOD, "response_length": 20, "ground_truth": GT_TEXT}) == by_easyr1[0]
    # EasyR1's JSON ground truth keeps the task: an untracked STVG row stays STVG, not video QA
    untracked = json.dumps({"task": "stvg", "answer": "Target ID: None, Time range: 1.00 to 2.00",
                            "target_id": None, "gt_span_seconds": [1.0, 2.0]})
    assert ground_truth_from_any(untracked).task == "stvg"
