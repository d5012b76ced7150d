"""`vcprep view`'s data endpoints, called directly and over real HTTP: values against the rows, filters counted
by hand on 10,000 synthetic samples, bad input, path traversal, and that nothing is ever written."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from io import BytesIO
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from view_support import derived_dataset, serving, write_synthetic_dataset

from vcprep.dataset.info import load_info
from vcprep.dataset.reader import iter_rows
from vcprep.view.api import ViewApp
from vcshard.hashing import sha256_file
from vcshard.layout import MANIFEST_PATH
from vcshard.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[1]


def get(app: ViewApp, path: str, **query: Any) -> tuple[int, Any]:
    response = app.handle(path, {k: str(v) for k, v in query.items()})
    return response.status, json.loads(response.body) if response.content_type == "application/json" else response


def tree_state(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under a folder: size, mtime and sha256 (to prove the viewer wrote nothing)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, sha256_file(p))
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def demo_state(demo_dataset: Path) -> dict[str, tuple[int, int, str]]:
    return tree_state(demo_dataset)


@pytest.fixture(scope="module")
def demo_app(demo_dataset: Path, demo_state: dict) -> ViewApp:
    return ViewApp.open([demo_dataset])


@pytest.fixture(scope="module")
def demo_rows(demo_dataset: Path) -> dict[str, dict[str, Any]]:
    return {r["variant"]: r for r in iter_rows(demo_dataset)}


def test_overview_is_the_data_card(demo_app: ViewApp, demo_dataset: Path, demo_rows: dict) -> None:
    info = load_info(demo_dataset)
    status, o = get(demo_app, "/api/overview", ds=0)
    assert status == 200
    assert o["card"]["samples"] == info.num_samples == 1
    assert o["card"]["variants"] == info.stats["rows_per_variant"]
    assert o["card"]["tasks"] == {"stvg": 1} and o["card"]["sources"] == {"jsonl": 1}
    assert o["quality"]["match_rate"] == 1.0  # the one sample's target was matched (target_id set)
    assert o["quality"]["mean_answer_ceiling_viou"] == info.stats["mean_answer_ceiling_viou"]
    oracle = demo_rows["raw"]["oracle_viou"]
    assert [b["count"] for b in o["quality"]["oracle_viou_hist"]][int(oracle * 10)] == 1  # its bin holds it
    figures = demo_app.datasets[0].figures.wait(60)  # type: ignore[union-attr]
    ceiling_bin = int(info.stats["mean_answer_ceiling_viou"] * 10)  # one sample: the mean is its ceiling
    assert [b["count"] for b in figures["answer_ceiling_hist"]][ceiling_bin] == 1
    distinct_ids = len(set(demo_rows["raw"]["tube_track_ids"]))
    assert figures["ids_per_video"] == [{"ids": distinct_ids, "videos": 1}]
    assert o["errors"] == [] and o["problems"] == []


def test_sample_boxes_are_the_rows_boxes(demo_app: ViewApp, demo_rows: dict) -> None:
    status, d = get(demo_app, "/api/sample", ds=0, id="vtest-walker-0001")
    assert status == 200
    assert [v["variant"] for v in d["variants"]] == list(demo_rows)
    row = demo_rows["id_tags"]
    view = next(v for v in d["variants"] if v["variant"] == "id_tags")
    assert view["question"] == row["question"] and view["answer"] == row["answer"]
    key = row["key_frame"].index(True)
    frame = view["frames"][key]
    gt_index = row["gt_frame_indices"].index(row["frame_indices"][key])  # a key frame is an annotated frame
    assert frame["gt_box"] == row["gt_boxes"][gt_index] and frame["gt_interpolated"] is False
    ids = row["frame_track_ids"][key]
    assert frame["target_box"] == row["frame_track_boxes"][key][ids.index(row["target_id"])]
    assert [t["id"] for t in frame["tracks"]] == ids
    # frame 50 lies between the annotated frames 46 and 52: 4/6 of the way, box by box
    k50 = row["frame_indices"].index(50)
    g46, g52 = row["gt_boxes"][row["gt_frame_indices"].index(46)], row["gt_boxes"][row["gt_frame_indices"].index(52)]
    assert view["frames"][k50]["gt_interpolated"] is True
    assert view["frames"][k50]["gt_box"] == pytest.approx([a + (4 / 6) * (b - a) for a, b in zip(g46, g52)])
    assert view["frames"][0]["gt_box"] is None  # frame 0 is before the first annotated frame
    lanes = {lane["id"]: lane["runs"] for lane in d["timeline"]["lanes"]}
    assert set(lanes) == set(row["tube_track_ids"])
    target_times = [t for t, i in zip(row["tube_pts_seconds"], row["tube_track_ids"]) if i == row["target_id"]]
    assert min(r[0] for r in lanes[row["target_id"]]) == min(target_times)
    assert max(r[1] for r in lanes[row["target_id"]]) == max(target_times)


def test_claims_land_on_the_nearest_stored_frame() -> None:
    from vcprep.view.sample import claims_by_frame

    pts = [0.0, 0.5, 1.0, 1.5]
    claims = [{"name": "man", "boxes": [[1, 2, 3, 4], [5, 6, 7, 8]], "time_seconds": 1.2},  # nearest: 1.0 s
              {"name": "dog", "boxes": [[9, 9, 10, 10]], "time_seconds": 2.6},  # 1.1 s after 1.5 s: past the gate
              {"name": "cat", "boxes": [], "time_seconds": 0.1},  # no box: nothing to draw
              {"name": "bird", "boxes": [[0, 0, 1, 1]], "time_seconds": None}]  # fmt: skip
    assert claims_by_frame(claims, pts) == {2: [{"name": "man", "box": [1.0, 2.0, 3.0, 4.0]},
                                               {"name": "man", "box": [5.0, 6.0, 7.0, 8.0]}]}  # fmt: skip


def test_frames_are_the_stored_bytes(demo_app: ViewApp, demo_rows: dict) -> None:
    response = demo_app.handle("/api/frame", {"ds": "0", "id": "vtest-walker-0001", "variant": "spotlight", "i": "3"})
    assert response.status == 200 and response.content_type == "image/jpeg"
    assert response.body == demo_rows["spotlight"]["frames"][3]["bytes"]
    thumb = demo_app.handle("/api/frame", {"ds": "0", "id": "vtest-walker-0001", "i": "0", "thumb": "1"})
    assert Image.open(BytesIO(thumb.body)).size == (160, 120)  # 640x480 stored, 160 px wide
    status, body = get(demo_app, "/api/frame", ds=0, id="vtest-walker-0001", variant="raw", i=99)
    assert status == 404 and "no frame 99" in body["error"]


@pytest.fixture(scope="module")
def synthetic_10k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_dataset(tmp_path_factory.mktemp("view10k") / "ds", 10_000)


def test_ten_thousand_samples_paged_and_filtered(synthetic_10k: Path) -> None:
    app = ViewApp.open([synthetic_10k])
    status, page = get(app, "/api/samples", ds=0, size=50)
    assert status == 200 and page["total"] == 10_000 and len(page["items"]) == 50
    assert page["items"][0]["sample_id"] == "syn-000000"
    _, last = get(app, "/api/samples", ds=0, size=50, page=199)
    assert [i["sample_id"] for i in last["items"]][-1] == "syn-009999" and len(last["items"]) == 50
    counts = {  # by hand from synthetic_fields: i % 5 == 0 unmatched, task TASKS[i % 4], source SOURCES[i % 3]
        "matched=no": ({"matched": "no"}, 2000),
        "matched=yes": ({"matched": "yes"}, 8000),
        "task": ({"task": "temporal_grounding"}, 2500),  # i % 4 == 3
        "source": ({"source": "vidstg"}, 3333),  # i % 3 == 1: 1, 4, ..., 9997
        "ceiling": ({"ceiling_min": 0.9}, 1000),  # oracle (i % 10)/10 + 0.05 >= 0.9 only for i % 10 == 9
        "unmatched, ceiling >= 0.5": ({"matched": "no", "ceiling_min": 0.5}, 1000),  # i % 10 == 5
        "video": ({"video": "video-00042.mp4"}, 10),  # ten samples a video
        "quality": ({"quality_min": 0.5}, 8000),  # the target won every vote when matched, 0 otherwise
    }
    for name, (query, expected) in counts.items():
        _, result = get(app, "/api/samples", ds=0, **query)
        assert result["total"] == expected, name
    _, ranked = get(app, "/api/samples", ds=0, sort="oracle_viou", order="desc", size=3)
    assert [i["oracle_viou"] for i in ranked["items"]] == pytest.approx([0.95, 0.95, 0.95])
    status, sample = get(app, "/api/sample", ds=0, id="syn-005555")
    assert status == 200 and len(sample["variants"]) == 2
    assert sample["entry"]["task"] == "temporal_grounding"  # 5555 % 4 == 3
    for i in range(0, 10_000, 700):  # samples across many row groups: only a few stay in memory
        assert get(app, "/api/sample", ds=0, id=f"syn-{i:06d}")[0] == 200
    cache = app.datasets[0].rows
    assert cache is not None and len(cache._tables) <= cache.max_row_groups


# ---------------------------------------------------------------- bad input
def test_a_folder_that_is_no_dataset(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    app = ViewApp.open([tmp_path / "empty", tmp_path / "missing"], eval_run=tmp_path / "no-run")
    _, state = get(app, "/api/state")
    assert "not a vcprep dataset" in state["datasets"][0]["error"] and "meta/info.json" in state["datasets"][0]["error"]
    assert "no such folder" in state["datasets"][1]["error"]
    assert "no such eval run" in state["eval"]["error"]
    status, body = get(app, "/api/overview", ds=0)
    assert status == 404 and "not a vcprep dataset" in body["error"]
    status, body = get(app, "/api/eval", ds=0)
    assert status == 404 and "no such eval run" in body["error"]


def test_a_shard_that_fails_verification_is_named(demo_dataset: Path, tmp_path: Path) -> None:
    two = derived_dataset(demo_dataset, tmp_path / "two", [
        lambda r: r, lambda r: {**r, "sample_id": "copy-b"}, lambda r: {**r, "sample_id": "copy-c"}])
    shards = load_manifest(two)
    assert len(shards) == 2  # two samples a shard: copy-c is alone in the second shard
    damaged = two / shards[1]["shard"]
    damaged.write_bytes(damaged.read_bytes()[:-100])
    app = ViewApp.open([two])
    _, state = get(app, "/api/state")
    problems = state["datasets"][0]["problems"]
    assert problems and all(p.startswith(shards[1]["shard"]) for p in problems)  # each names the shard
    assert any("manifest says" in p for p in problems) and any("not a readable Parquet" in p for p in problems)
    _, page = get(app, "/api/samples", ds=0)
    assert [i["sample_id"] for i in page["items"]] == ["vtest-walker-0001", "copy-b"]
    assert get(app, "/api/sample", ds=0, id="copy-c")[0] == 404


def test_a_changed_row_is_refused_naming_its_shard(demo_dataset: Path, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    shutil.copytree(demo_dataset, ds)
    rel = load_manifest(ds)[0]["shard"]
    table = pq.read_table(ds / rel)
    question = pa.array(["Which woman?"] * table.num_rows, pa.string())
    pq.write_table(table.set_column(table.schema.get_field_index("question"), "question", question), ds / rel)
    entry = {**load_manifest(ds)[0], "bytes": (ds / rel).stat().st_size, "sha256": sha256_file(ds / rel)}
    (ds / MANIFEST_PATH).write_text(json.dumps(entry) + "\n")  # the manifest agrees: only the row hash can tell
    status, body = get(ViewApp.open([ds]), "/api/sample", ds=0, id="vtest-walker-0001")
    assert status == 422 and rel in body["error"] and "row_sha256" in body["error"]


def test_links_and_paths_outside_the_dataset_are_refused(demo_dataset: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ds = tmp_path / "ds"
    shutil.copytree(demo_dataset, ds)
    rel = load_manifest(ds)[0]["shard"]
    shutil.move(ds / rel, outside / "shard.parquet")
    os.symlink(outside / "shard.parquet", ds / rel)  # same bytes, but a link to a file outside
    (outside / "secret.jsonl").write_text(json.dumps({"stage": "x", "file": "secret", "reason": "outside"}) + "\n")
    os.symlink(outside / "secret.jsonl", ds / "meta" / "errors.jsonl")
    app = ViewApp.open([ds])
    _, state = get(app, "/api/state")
    assert any(rel in p and "link" in p for p in state["datasets"][0]["problems"])
    assert get(app, "/api/samples", ds=0)[1]["total"] == 0
    assert get(app, "/api/overview", ds=0)[1]["errors"] == []  # the linked errors file was not read

    linked = tmp_path / "linked-manifest"
    shutil.copytree(demo_dataset, linked)
    shutil.move(linked / MANIFEST_PATH, outside / "manifest.jsonl")
    os.symlink(outside / "manifest.jsonl", linked / MANIFEST_PATH)
    _, state = get(ViewApp.open([linked]), "/api/state")
    assert "meta/manifest.jsonl links outside the dataset folder" in state["datasets"][0]["error"]

    escaping = tmp_path / "escaping"
    shutil.copytree(demo_dataset, escaping)
    entry = {**load_manifest(escaping)[0], "shard": "data/../../outside/shard.parquet"}
    (escaping / MANIFEST_PATH).write_text(json.dumps(entry) + "\n")
    _, state = get(ViewApp.open([escaping]), "/api/state")
    assert "not a file directly under data/" in state["datasets"][0]["error"]


TRAVERSALS = [
    "/../../../../etc/passwd", "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd", "//etc/passwd", "/static/app.js/../../../../../etc/passwd",
    "/api/frame?ds=../../../etc&id=passwd", "/api/sample?ds=0&id=../../../../etc/passwd",
    "/api/frame?ds=0&id=vtest-walker-0001&variant=../../../etc/passwd&i=0", "/api/overview?ds=-1",
    "/api/samples?ds=0&video=../../../etc/passwd", "/meta/info.json", "/data/shard-00000.parquet",
]


def test_over_http_nothing_outside_can_be_read_and_nothing_written(
    demo_app: ViewApp, demo_dataset: Path, demo_state: dict
) -> None:
    with serving(demo_app) as base:
        host, port = base.removeprefix("http://").split(":")
        for path in TRAVERSALS:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            assert b"root:" not in body and b"PAR1" not in body, path
            if path.startswith("/api/samples"):
                assert response.status == 200 and json.loads(body)["total"] == 0, path  # a filter value, not a path
            else:
                assert response.status in (400, 404), (path, response.status)
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request(method, "/api/state", body=b"{}")
            assert conn.getresponse().status == 405, method
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/")
        page = conn.getresponse()
        assert page.status == 200 and "default-src 'self'" in page.getheader("Content-Security-Policy", "")
    assert tree_state(demo_dataset) == demo_state  # every request of this module left the folder as it was


@pytest.mark.slow  # builds a tiny VLM and generates (about 20 s on 2 cores)
def test_real_vctrain_eval_run_is_read(demo_dataset: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vctrain.cli import app as vctrain_app
    from vctrain.tools.tiny import build_tiny_qwen25vl

    model = build_tiny_qwen25vl(tmp_path / "tiny")
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(
        f"data: {{shards: [{demo_dataset}], max_frames: 4, max_pixels_per_frame: 3136, min_pixels_per_frame: 784}}\n"
        "eval: {variant: id_tags, max_new_tokens: 8}\nprogress: false\n"
    )
    result = CliRunner().invoke(vctrain_app, ["eval", str(cfg), "--checkpoint", str(model)])
    assert result.exit_code == 0, result.output
    report = json.loads((model / "eval.json").read_text())
    record = report["samples"][0]
    assert set(record["rewards"]) >= {"total"} and record["claims"] == []
    app = ViewApp.open([demo_dataset], eval_run=model)  # the checkpoint folder, as `--eval RUN_DIR`
    status, listed = get(app, "/api/eval", ds=0)
    assert status == 200 and len(listed["rows"]) == 1
    row = listed["rows"][0]
    assert row["text"] == record["text"] and row["in_dataset"] is True
    assert row["reward"] == record["rewards"]["total"] and row["viou"] == record["viou"]


def test_cli_prints_the_address_and_serves(demo_dataset: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "vcprep.cli", "view", str(demo_dataset), "--port", "0"],
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("vcprep view: http://127.0.0.1:"), line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/state")
        state = json.loads(conn.getresponse().read())
        assert state["datasets"][0]["name"] == "vtest-demo"
    finally:
        proc.terminate()
        proc.wait(10)
