"""Every dataset source on small files in the real upstream formats (tests/fixtures).

Conventions are checked numerically (1-based frames, xywh vs xyxy, exclusive end frames,
normalised vs pixel boxes), and malformed records must come back as ErrorRecords naming the
file and the record, while the good records of the same file still convert.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vcprep.core.errors import ErrorRecord
from vcprep.core.types import Sample, VideoInfo
from vcprep.decode.video import probe
from vcprep.render.answers import resolve_key_items, sample_answer
from vcprep.render.prompts import known_tasks, load_template, options_block, task_answer
from vcprep.sources import SOURCES, build_source

FIX = Path(__file__).resolve().parent / "fixtures"


def _run(name: str, annotations: Path, **params: object) -> tuple[dict[str, Sample], list[ErrorRecord]]:
    samples, errors = {}, []
    for item in build_source(name, {"annotations": str(annotations), **params}).iter_samples():
        if isinstance(item, ErrorRecord):
            errors.append(item)
        else:
            samples[item.sample_id] = item
    return samples, errors


def test_every_issue_source_is_registered() -> None:
    assert {"hcstvg", "vidstg", "charades_sta", "vstar", "stgr", "jsonl"} <= set(SOURCES.names())


def test_hcstvg_v1_one_based_xywh_box_lands_on_index_30_as_xyxy(vtest_path: Path) -> None:
    samples, errors = _run("hcstvg", FIX / "hcstvg/anno_v1/test.json", version="v1")
    s = samples["hcstvgv1-vtest"]
    # bbox[0] = [100, 200, 40, 80] on 1-based st_frame 31 -> 0-based index 30, x2 = x + w
    assert s.gt_boxes[30] == (100.0, 200.0, 140.0, 280.0)
    assert s.gt_boxes[31] == (102.0, 201.0, 142.0, 281.0)
    assert sorted(s.gt_boxes) == [30, 31]
    assert s.gt_span_seconds == (3.0, 3.2)
    assert s.question == "The person on the left stands still."  # v1 keeps its sentence under `caption`
    assert s.fps == pytest.approx(795 / 20)
    # the converted record fits the real video it points at (index 30 is 3.0 s into vtest.avi)
    info = probe(vtest_path)
    assert 30 / info.fps == pytest.approx(s.gt_span_seconds[0])
    assert [e.sample_id for e in errors] == ["missing_st_frame.mp4"]
    assert errors[0].file.endswith("anno_v1/test.json") and "st_frame" in errors[0].reason


def test_hcstvg_v2_track_every_frame_and_reports_bad_boxes() -> None:
    raw = json.loads((FIX / "hcstvg/anno_v2/train_v2.json").read_text())["vtest_clip.mp4"]
    samples, errors = _run("hcstvg", FIX / "hcstvg/anno_v2/train_v2.json", video_dir="videos")
    s = samples["hcstvgv2-vtest_clip"]
    assert s.video_path == "videos/vtest_clip.mp4"
    assert len(s.gt_boxes) == len(raw["bbox"]) == 61
    first, last = min(s.gt_boxes), max(s.gt_boxes)
    assert (first, last) == (raw["st_frame"] - 1, raw["st_frame"] - 1 + 60) == (46, 106)
    x, y, w, h = raw["bbox"][-1]
    assert s.gt_boxes[last] == pytest.approx((x, y, x + w, y + h))
    assert s.question.startswith("The man in a dark jacket")  # `English` in v2
    assert len(errors) == 1 and errors[0].sample_id == "broken_negative_width.mp4"
    assert "non-positive size" in errors[0].reason and "1-based frame 11" in errors[0].reason


def test_hcstvg_v2_query_file_gives_samples_without_ground_truth() -> None:
    samples, errors = _run("hcstvg", FIX / "hcstvg/anno_v2/query_v2.json")
    s = samples["hcstvgv2-vtest_clip"]
    assert s.gt_span_seconds is None and s.gt_boxes == {} and s.extra["x_query_only"] is True
    assert [e.sample_id for e in errors] == ["empty_query.mp4"]


def test_vidstg_end_frame_is_exclusive_and_sentence_kinds_stay_apart() -> None:
    samples, errors = _run("vidstg", FIX / "vidstg/train_annotations.json", video_dir="video")
    decl, inter = samples["vidstg-vtest_clip-r0-d0"], samples["vidstg-vtest_clip-r0-q0"]
    assert decl.extra["x_sentence_type"] == "declarative" and inter.extra["x_sentence_type"] == "interrogative"
    assert decl.question != inter.question and inter.question.endswith("?")
    # temporal_gt [46, 107): boxes on 46..106, span 4.6 s to 10.7 s at 10 fps
    assert sorted(decl.gt_boxes) == list(range(46, 107))
    assert decl.gt_span_seconds == pytest.approx((4.6, 10.7))
    assert decl.clip_span_seconds == pytest.approx((0.0, 12.0))
    vidor = json.loads((FIX / "vidstg/vidor_annotations/0001/vtest_clip.json").read_text())
    b = next(o["bbox"] for o in vidor["trajectories"][70] if o["tid"] == 0)
    assert decl.gt_boxes[70] == (b["xmin"], b["ymin"], b["xmax"], b["ymax"])  # VidOR boxes are xyxy already
    assert decl.video_path == "video/0001/vtest_clip.mp4" and decl.object_names == ("adult",)
    only_q, _ = _run("vidstg", FIX / "vidstg/train_annotations.json", sentences="interrogative")
    assert list(only_q) == ["vidstg-vtest_clip-r0-q0"]
    reasons = {e.sample_id: e.reason for e in errors}
    assert "temporal_gt" in reasons["record 1 (vtest_clip)"]
    assert "no VidOR annotation" in reasons["record 2 (not_in_vidor)"]


def test_charades_sta_seconds_clamp_and_bad_lines(tmp_path: Path) -> None:
    samples, errors = _run("charades_sta", FIX / "charades_sta/charades_sta_train.txt",
                           durations="Charades_v1_train.csv", video_ext=".mp4")
    first = samples["charades-vtest_clip-1"]
    assert first.task == "temporal_qa" and first.gt_span_seconds == (4.6, 10.6)
    assert first.question == "a man in a dark jacket walks alone up the path."
    clamped = samples["charades-vtest_clip-2"]
    assert clamped.gt_span_seconds == (2.0, 12.0) and clamped.extra["x_end_clamped"] == 13.5
    keys = sorted(e.sample_id for e in errors)
    assert keys[0].startswith("line 3") and keys[1].startswith("line 4: ZZZZZ")
    # without the duration CSV nothing is clamped, and a missing CSV is one clear error
    plain, _ = _run("charades_sta", FIX / "charades_sta/charades_sta_train.txt")
    assert plain["charades-vtest_clip-2"].gt_span_seconds == (2.0, 13.5)
    _, missing = _run("charades_sta", FIX / "charades_sta/charades_sta_train.txt", durations="nope.csv")
    assert len(missing) == 1 and "duration CSV not found" in missing[0].reason


def test_vstar_chains_and_box_frames() -> None:
    samples, errors = _run("vstar", FIX / "vstar/V_STaR_test.json", chains=["what", "when", "where", "where_2"])
    tasks = {k.rsplit("-", 1)[1]: s.task for k, s in samples.items()}
    assert tasks == {"what": "general_free_form", "when": "temporal_qa", "where": "st_grounding",
                     "where_2": "st_grounding"}
    where = samples["vstar-0-vtest_clip-where"]
    # README form {"5.2_52": {...}} -> frame 52; flat form without frame_index -> round(9.4 * 10) = 94
    assert sorted(where.gt_boxes) == [52, 70, 94]
    assert where.gt_boxes[52] == (662.0, 252.0, 699.0, 363.0) and where.object_names == ("man",)
    assert [k.time_seconds for k in where.key_items] == [5.2, 7.0, 9.4]
    assert not any(k.normalized for k in where.key_items)
    assert samples["vstar-0-vtest_clip-when"].gt_span_seconds == (4.6, 10.6)
    assert samples["vstar-0-vtest_clip-what"].answer.startswith("He walks")
    assert len(errors) == 1 and "fps" in errors[0].reason and errors[0].sample_id.startswith("record 1")


def test_stgr_tasks_answers_and_normalised_key_items() -> None:
    samples, errors = _run("stgr", FIX / "stgr/STGR-RL.json", video_dir="videos")
    assert {s.sample_id: s.task for s in samples.values()} == {
        "stgr-tg-1": "temporal_qa", "stgr-tgmcq-1": "temporal_mcq", "stgr-st-1": "st_free_form",
        "stgr-mcq-1": "general_mcq", "stgr-ff-1": "general_free_form",
    }
    assert samples["stgr-tg-1"].gt_span_seconds == (4.6, 10.6)
    mcq = samples["stgr-tgmcq-1"]
    assert (mcq.answer, mcq.gt_span_seconds) == ("B", (4.6, 10.6))
    st = samples["stgr-st-1"]
    assert st.object_names == ("man", "building door")
    door = next(k for k in st.key_items if k.name == "building door")
    assert door.normalized and door.time_seconds == 7.0 and door.xyxy == (0.5, 0.25, 0.75, 0.5)
    reasons = {e.sample_id: e.reason for e in errors}
    assert set(reasons) == {"img-1", "bad-keyframe"}
    assert "image record" in reasons["img-1"] and "no entry in key_frames" in reasons["bad-keyframe"]


def test_normalised_key_items_become_stored_pixels_on_the_frame_of_their_time() -> None:
    samples, _ = _run("stgr", FIX / "stgr/STGR-RL.json")
    st = samples["stgr-st-1"]
    info = VideoInfo("x.mp4", fps=10.0, frame_count=120, width=768, height=576)
    scale = np.array([640 / 768, 480 / 576] * 2, np.float32)  # stored at 640x480
    items = resolve_key_items(st, info, scale)
    door = next(k for k in items if k.name == "building door")
    # [0.5, 0.25, 0.75, 0.5] of 768x576 = [384, 144, 576, 288] source px = [320, 120, 480, 240] stored px
    assert door.xyxy == pytest.approx((320.0, 120.0, 480.0, 240.0), abs=1e-3)
    assert door.frame_index == 70


def test_malformed_files_are_reported_not_raised(tmp_path: Path) -> None:
    bad_json = tmp_path / "broken.json"
    bad_json.write_text("{ not json")
    for name in ("hcstvg", "vidstg", "vstar", "stgr"):
        _, errors = _run(name, bad_json)
        assert len(errors) == 1 and "not valid JSON" in errors[0].reason and errors[0].file.endswith("broken.json")
    _, errors = _run("charades_sta", tmp_path / "missing.txt")
    assert len(errors) == 1 and "not found" in errors[0].reason
    wrong_shape = tmp_path / "list.json"
    wrong_shape.write_text(json.dumps([1, "x", None]))
    samples, errors = _run("stgr", wrong_shape)
    assert not samples and len(errors) == 3 and all("JSON object" in e.reason for e in errors)


def test_templates_exist_per_task_and_answers_follow_the_methods_formats() -> None:
    assert set(known_tasks()) >= {"stvg", "temporal_qa", "temporal_mcq", "st_free_form", "st_grounding",
                                  "general_mcq", "general_free_form"}
    for task in known_tasks():
        t = load_template(task)
        assert t.version >= 1 and "<video>" in t.user and "<answer>" in t.system
    assert task_answer(load_template("stvg"), target_id=3, span=(12.54, 17.83)) == \
        "Target ID: 3, Time range: 12.54 to 17.83"
    assert task_answer(load_template("temporal_qa"), span=(4.6, 10.6)) == "From <t>4.60</t>s to <t>10.60</t>s"
    assert task_answer(load_template("temporal_mcq"), span=(1, 2), option="C") == \
        "From <t>1.00</t>s to <t>2.00</t>s.\nCorrect Option: C"
    assert task_answer(load_template("temporal_mcq"), span=(1, 2)) is None  # the letter is unknown
    assert options_block(["yes", "B. no"]) == "\nOptions:\nA. yes\nB. no"
    with pytest.raises(ValueError, match="no prompt template"):
        load_template("nonexistent_task")


def test_grounding_answer_is_visioncoach_claims_in_stored_pixels() -> None:
    samples, _ = _run("vstar", FIX / "vstar/V_STaR_test.json")
    where = samples["vstar-0-vtest_clip-where"]
    info = VideoInfo("x.mp4", fps=10.0, frame_count=120, width=768, height=576)
    items = resolve_key_items(where, info, np.ones(4, np.float32))
    answer = sample_answer(where, load_template("st_grounding"), target_id=None, key_items=items)
    assert answer.startswith("<obj>man</obj><box>[662,252,699,363]</box>at<t>5.20</t>s")
    assert answer.count("<obj>") == 3


def test_generic_jsonl_carries_task_answer_options_and_key_items(tmp_path: Path) -> None:
    ann = tmp_path / "ann.jsonl"
    good = {"id": "q1", "video": "vtest.avi", "question": "Who walks?", "task": "general_mcq", "answer": "B",
            "options": ["a dog", "a man"],
            "key_items": [{"name": "man", "time": 5.2, "box": [0.5, 0.25, 0.75, 0.5], "normalized": True}]}
    bad = {"id": "q2", "video": "vtest.avi", "question": "x",
           "key_items": [{"name": "m", "time": -1, "box": [0, 0, 1, 1]}]}
    ann.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    samples, errors = _run("jsonl", ann)
    s = samples["q1"]
    assert (s.task, s.answer, s.options) == ("general_mcq", "B", ("a dog", "a man"))
    assert s.key_items[0].normalized and s.key_items[0].time_seconds == 5.2
    assert [e.sample_id for e in errors] == ["q2"] and errors[0].file.endswith("ann.jsonl:2")
    info = VideoInfo("x", fps=10.0, frame_count=795, width=768, height=576)
    assert resolve_key_items(s, info, np.ones(4, np.float32))[0].xyxy == pytest.approx((384, 144, 576, 288))
