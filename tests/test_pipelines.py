"""`vcprep render pipelines/<each>.yaml` end to end on the upstream-format fixtures.

The recipes are the real ones; the renders (tests/upstream_renders.py, shared with test_rewards.py) only point
them at the fixture annotations (`--annotations`) and at a data root (`--data-root`) laid out like each dataset's
download, holding a 12 s clip cut from the sample video vtest.avi.
Each run must write the good records with the right per-task prompt and ground truth, and
record the fixtures' malformed records in meta/errors.jsonl without stopping.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
from upstream_renders import CASES

from vcprep.render.prompts import load_template

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # six recipes rendered with the real detector (the session renders them once)


@pytest.fixture(scope="module")
def rendered(upstream_renders: dict) -> dict[str, tuple[Path, int, str]]:
    """Every dataset recipe rendered once per session through the CLI (conftest: `upstream_renders`)."""
    return upstream_renders


def _rows(ds: Path) -> dict[tuple[str, str], dict]:
    rows = {}
    for shard in sorted((ds / "data").glob("*.parquet")):
        for r in pq.read_table(shard).to_pylist():
            rows[(r["sample_id"], r["variant"])] = r
    return rows


def _errors(ds: Path) -> list[dict]:
    path = ds / "meta" / "errors.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def _check_prompt(row: dict) -> None:
    """System turn and user turn come from the task's versioned template, with `<video>` first."""
    t = load_template(row["task"])
    assert row["system_prompt"] == t.system
    assert row["user_prompt"].startswith("<video>\n") and row["question"] in row["user_prompt"]
    if row["hint"]:
        assert row["hint"] in row["user_prompt"]
    assert json.loads(row["meta"])["template_version"] == t.version


@pytest.mark.parametrize("name", ["hcstvg_v1", "hcstvg_v2"])
def test_hcstvg_rows_are_stvg_r1_id_and_span(rendered: dict, name: str) -> None:
    ds, code, output = rendered[name]
    rows = _rows(ds)
    version = name.split("_")[1]
    sid = f"hcstvg{version}-vtest_clip"
    assert {v for s, v in rows if s == sid} == {"raw", "id_tags", "id_tags+spotlight"}
    raw = rows[(sid, "raw")]
    _check_prompt(raw)
    assert raw["task"] == "stvg" and raw["source"] == "hcstvg"
    assert raw["gt_span_seconds"] == [4.6, 10.6]
    assert raw["gt_frame_indices"][0] == 46 and raw["gt_pts_seconds"][0] == pytest.approx(4.6)
    # the walker is tracked: his ID answers, and the answer is STVG-R1's format
    assert raw["target_id"] is not None
    assert raw["answer"] == f"Target ID: {raw['target_id']}, Time range: 4.60 to 10.60"
    # stored boxes: xywh [701, 268, 43, 120] on 1-based frame 47 -> xyxy at 640/768 scale
    assert raw["gt_boxes"][0] == pytest.approx([701 * 640 / 768, 268 * 480 / 576, 744 * 640 / 768, 388 * 480 / 576],
                                               abs=0.01)
    tagged = rows[(sid, "id_tags")]
    assert "red number" in tagged["user_prompt"] and tagged["answer"] == raw["answer"]
    assert code == 1 and len(_errors(ds)) == 1, output  # the fixture's malformed record
    assert _errors(ds)[0]["stage"] == "source" and _errors(ds)[0]["file"].endswith(CASES[name][0])


def test_vidstg_rows_keep_sentence_types_apart(rendered: dict) -> None:
    ds, code, _output = rendered["vidstg"]
    rows = _rows(ds)
    decl, inter = rows[("vidstg-vtest_clip-r0-d0", "raw")], rows[("vidstg-vtest_clip-r0-q0", "raw")]
    for row in (decl, inter):
        _check_prompt(row)
        assert row["gt_span_seconds"] == pytest.approx([4.6, 10.7])  # end_fid 107 is exclusive
        assert row["gt_frame_indices"] == list(range(46, 107))
        assert row["answer"] == f"Target ID: {row['target_id']}, Time range: 4.60 to 10.70"
        assert row["video_path"] == "video/0001/vtest_clip.mp4" and row["object_names"] == ["adult"]
    assert json.loads(decl["meta"])["x_sentence_type"] == "declarative"
    assert json.loads(inter["meta"])["x_sentence_type"] == "interrogative"
    assert decl["target_id"] == inter["target_id"]  # same tid in the VidOR trajectory
    assert code == 1 and {e["sample_id"] for e in _errors(ds)} == {"record 1 (vtest_clip)", "record 2 (not_in_vidor)"}


def test_charades_rows_are_temporal_qa(rendered: dict) -> None:
    ds, code, output = rendered["charades_sta"]
    rows = _rows(ds)
    first, clamped = rows[("charades-vtest_clip-1", "raw")], rows[("charades-vtest_clip-2", "raw")]
    _check_prompt(first)
    assert first["task"] == "temporal_qa" and first["answer"] == "From <t>4.60</t>s to <t>10.60</t>s"
    assert first["gt_boxes"] == [] and first["target_id"] is None
    assert clamped["gt_span_seconds"] == [2.0, 12.0] and json.loads(clamped["meta"])["x_end_clamped"] == 13.5
    numbered = rows[("charades-vtest_clip-1", "frame_numbers")]
    assert numbered["hint"] and numbered["hint"] in numbered["user_prompt"]
    assert code == 1 and len(_errors(ds)) == 2, output


def test_vstar_rows_per_chain(rendered: dict) -> None:
    ds, code, output = rendered["vstar"]
    rows = _rows(ds)
    what, when, where = (rows[(f"vstar-0-vtest_clip-{c}", "raw")] for c in ("what", "when", "where"))
    for row in (what, when, where):
        _check_prompt(row)
    assert what["task"] == "general_free_form" and what["answer"].startswith("He walks alone")
    assert when["task"] == "temporal_qa" and when["answer"] == "From <t>4.60</t>s to <t>10.60</t>s"
    assert where["task"] == "st_grounding" and where["gt_frame_indices"] == [52, 70, 94]
    claims = where["answer"].split("<obj>")[1:]
    assert len(claims) == 3 and claims[0].startswith("man</obj><box>[552,210,582,302]</box>at<t>5.20</t>s")
    assert sum(where["key_frame"]) >= 2  # key frames marked on the stored frames nearest their times
    assert code == 1 and len(_errors(ds)) == 1, output


def test_stgr_rows_follow_visioncoach_tasks(rendered: dict) -> None:
    ds, code, output = rendered["stgr"]
    rows = _rows(ds)
    expected = {
        "stgr-tg-1": ("temporal_qa", "From <t>4.60</t>s to <t>10.60</t>s"),
        "stgr-tgmcq-1": ("temporal_mcq", "From <t>4.60</t>s to <t>10.60</t>s.\nCorrect Option: B"),
        "stgr-st-1": ("st_free_form", "He walks alone up the path towards the building."),
        "stgr-mcq-1": ("general_mcq", "A"),
        "stgr-ff-1": ("general_free_form", "People walk across a paved square in front of a building."),
    }
    for sid, (task, answer) in expected.items():
        row = rows[(sid, "raw")]
        _check_prompt(row)
        assert (row["task"], row["answer"]) == (task, answer)
    st = rows[("stgr-st-1", "spotlight")]
    meta = json.loads(st["meta"])
    door = next(k for k in meta["key_items"] if k["name"] == "building door")
    assert door["box"] == pytest.approx([320.0, 120.0, 480.0, 240.0]) and door["frame_index"] == 70
    assert meta["spotlight_focus"] == "all" and st["object_names"] == ["man", "building door"]
    assert "darkened" in st["user_prompt"]
    assert code == 1 and {e["sample_id"] for e in _errors(ds)} == {"img-1", "bad-keyframe"}, output


def test_stgr_spotlight_lights_the_key_objects(rendered: dict) -> None:
    """On the stored frame nearest a key time, the key box stays bright and the outside is dimmed."""
    ds, _, _ = rendered["stgr"]
    rows = _rows(ds)
    raw, lit = rows[("stgr-st-1", "raw")], rows[("stgr-st-1", "spotlight")]
    k = lit["key_frame"].index(True)
    a, b = (cv2.imdecode(np.frombuffer(r["frames"][k]["bytes"], np.uint8), cv2.IMREAD_GRAYSCALE).astype(float)
            for r in (raw, lit))
    assert b[:60, :200].mean() < 0.5 * a[:60, :200].mean()  # top-left corner: far from any key object


def test_recipes_tracking_the_same_clip_alike_detect_it_once(rendered: dict) -> None:
    """The renders share one tracks cache (`--tracks`): HC-STVG v1 and v2, V-STaR and STGR track the whole clip at
    `videos/vtest_clip.mp4` with the same ssdlite + ByteTrack settings at 5 fps, so one segment file serves all
    four; VidSTG (another folder) and Charades-STA (2 fps) have their own."""
    tracks = rendered["tracks"][0]
    files = sorted(p.name for p in tracks.rglob("*.parquet"))
    videos = [f for f in files if f.startswith("videos__vtest_clip")]
    assert len(videos) == 1, files
    assert len(files) == 3, files
    for name in ("hcstvg_v1", "hcstvg_v2", "vstar", "stgr", "vidstg", "charades_sta"):
        assert rendered[name][1] in (0, 1), rendered[name][2]  # every render completed
