"""`--executor ray` on a real two-node Ray cluster on this machine (two raylets on loopback).

A cheap cut of the walkers recipe (two of its queries, same detector and tracker, lower track
rate) plus three more videos (one of them damaged) must give the rows of a serial run; models
load once per track actor; killing a render worker mid-run, or the driver, then re-running gives
a dataset that verifies with no duplicate and no missing row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
import yaml

from vcprep.cluster import run_cluster
from vcprep.core.config import ConfigError, load_pipeline
from vcprep.dataset.verify import verify_dataset
from vcprep.pipeline import run_pipeline
from vcshard.layout import MANIFEST_PARTS_DIR
from vcshard.manifest import load_manifest

# Ray replaces a loopback address by the machine's outward IP unless this is 0; every node of the
# test cluster, its driver and workers must stay on 127.0.0.1
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a two-node Ray cluster and five renders: minutes on 2 cores
ROOT = Path(__file__).resolve().parents[1]
WALKERS = ROOT / "pipelines" / "vtest_walkers.yaml"


def _recipe(tmp: Path, media: Path) -> Path:
    walkers = yaml.safe_load(WALKERS.read_text())
    lines = (ROOT / "pipelines" / "annotations" / "vtest_walkers.jsonl").read_text().splitlines()[:2]
    extra = [
        {"id": "bikes-1", "video": "bikes.mp4", "question": "When does the cyclist pass?", "span_seconds": [2, 6],
         "task": "temporal_qa"},
        {"id": "mega-1", "video": "Megamind.avi", "question": "When does he speak?", "span_seconds": [1, 5],
         "task": "temporal_qa"},
        {"id": "gone-1", "video": "not_here.mp4", "question": "A missing file.", "span_seconds": [1, 3],
         "task": "temporal_qa"},
    ]
    ann = tmp / "ann.jsonl"
    ann.write_text("\n".join(lines + [json.dumps(r) for r in extra]) + "\n")
    walkers.update(
        name="walkers-cut",
        source={"name": "jsonl", "annotations": str(ann), "data_root": str(media)},
        decode={"backend": "cv2", "track_fps": 2.5},
        sampling={"fps": 1.0, "max_frames": 6},
        variants=["raw", "id_tags", "boxes", "spotlight"],
        output={"max_side": 320, "samples_per_shard": 1, "license": "bsd-3-clause"},
        ray={"track_actors": 2, "render_workers": 2},
    )
    walkers["tracker"]["params"]["frame_rate"] = 2.5
    recipe = tmp / "walkers_cut.yaml"
    recipe.write_text(yaml.safe_dump(walkers))
    return recipe


WRITTEN_AND_REFUSED = [("decode", "not_here.mp4"), ("match", "vtest.avi")]
"""The serial run's errors: walker 02 refused as a weak match, the missing video recorded."""


def _rows(out: Path) -> list[dict]:
    rows = []
    for entry in load_manifest(out):
        rows += pq.read_table(out / entry["shard"]).to_pylist()
    return sorted(rows, key=lambda r: (r["sample_id"], r["variant"]))


@pytest.fixture(scope="module")
def cluster():
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False  # in case ray was imported before the variable was set
    node = {"num_cpus": 2, "object_store_memory": 150 * 2**20, "node_ip_address": "127.0.0.1"}  # loopback only
    c = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    c.add_node(**node)
    c.wait_for_nodes()
    assert c.address.startswith("127.0.0.1:")
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def serial(tmp_path_factory, media_dir: Path) -> tuple[Path, list[dict]]:
    tmp = tmp_path_factory.mktemp("serial")
    recipe = _recipe(tmp, media_dir)
    summary = run_pipeline(load_pipeline(recipe), tmp / "out", workers=1, progress=False)
    # the damaged file is recorded, not fatal; walker 02's person is split over tracks (a weak match: not written)
    assert summary.samples_written == 3 and sorted((e.stage, e.file) for e in summary.errors) == WRITTEN_AND_REFUSED
    return recipe, _rows(tmp / "out")


def _same_dataset(out: Path, expected: list[dict]) -> None:
    report = verify_dataset(out)
    assert report.ok, report.problems
    rows = _rows(out)
    assert not [k for k, n in Counter((r["sample_id"], r["variant"]) for r in rows).items() if n > 1]
    assert rows == expected
    assert not list((out / "data").glob("*.tmp")) and not list((out / MANIFEST_PARTS_DIR).glob("*.jsonl"))


def test_two_node_cluster_gives_the_serial_rows_with_one_model_load_per_actor(cluster, serial, tmp_path) -> None:
    recipe, expected = serial
    assert len(ray.nodes()) == 2 and all(n["Alive"] for n in ray.nodes())
    run = run_cluster(load_pipeline(recipe), tmp_path / "ray", progress=False)
    assert run.summary.samples_written == 3
    assert sorted((e.stage, e.file) for e in run.summary.errors) == WRITTEN_AND_REFUSED
    assert run.throughput.videos == 4
    assert run.throughput.model_loads == run.throughput.track_actors == 2  # not one per video (4)
    # workers wrote the shards under their own names; the driver only merged the manifest parts
    assert all(Path(e["shard"]).stem.count("-") == 2 for e in load_manifest(tmp_path / "ray"))
    _same_dataset(tmp_path / "ray", expected)
    # a finished dataset is resumed with nothing to do
    again = run_cluster(load_pipeline(recipe), tmp_path / "ray", progress=False)
    assert again.summary.samples_written == 0 and again.summary.samples_skipped == 3
    _same_dataset(tmp_path / "ray", expected)


def test_gpu_request_the_cluster_cannot_meet_is_a_clear_error(cluster, serial, tmp_path) -> None:
    cfg = load_pipeline(serial[0])
    cfg.ray.num_gpus_per_track_actor = 1.0
    with pytest.raises(ConfigError, match="num_gpus_per_track_actor"):
        run_cluster(cfg, tmp_path / "gpu", progress=False)


def _my_processes(title: str) -> list[psutil.Process]:
    """Ray worker processes of this test's own cluster (descendants of this process) by title."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if " ".join(p.cmdline()).startswith(title):
                out.append(p)
        except psutil.Error:
            continue
    return out


def _wait_for_part(out: Path, timeout_s: float) -> bool:
    """True once a worker has committed a shard (a non-empty manifest part)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(p.stat().st_size for p in (out / MANIFEST_PARTS_DIR).glob("*.jsonl")):
            return True
        time.sleep(0.05)
    return False


def test_killed_render_worker_then_rerun_loses_and_duplicates_nothing(cluster, serial, tmp_path) -> None:
    recipe, expected = serial
    out = tmp_path / "ray"
    killed: list[int] = []
    committed_at_kill: list[int] = []

    def kill_a_render_worker() -> None:
        if _wait_for_part(out, 120):
            for proc in _my_processes("ray::RenderWorker")[:1]:
                parts = (out / MANIFEST_PARTS_DIR).glob("*.jsonl")
                committed_at_kill.append(sum(len(p.read_text().splitlines()) for p in parts))
                killed.append(proc.pid)
                proc.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_a_render_worker)
    killer.start()
    first = run_cluster(load_pipeline(recipe), out, progress=False)
    killer.join()
    assert killed, "no render worker was running when the first shard was committed"
    assert committed_at_kill[0] < 4, "the kill came after every sample was committed: not mid-run"
    # Ray restarted the actor and retried its video, or the video was recorded as failed
    assert first.summary.samples_written + sum(e.stage == "worker" for e in first.summary.errors) >= 1
    rerun = run_cluster(load_pipeline(recipe), out, progress=False)
    assert rerun.summary.samples_written + rerun.summary.samples_skipped == 3
    _same_dataset(out, expected)


def test_killed_driver_then_rerun_loses_and_duplicates_nothing(cluster, serial, tmp_path) -> None:
    recipe, expected = serial
    out = tmp_path / "ray"
    env = dict(os.environ, RAY_ADDRESS=cluster.address, PYTHONPATH=str(ROOT))
    driver = subprocess.Popen([sys.executable, "-m", "vcprep.cli", "render", str(recipe), "--out", str(out),
                               "--executor", "ray", "--quiet"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        assert _wait_for_part(out, 150), "the driver committed nothing in time"
        driver.send_signal(signal.SIGKILL)
        driver.wait(30)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == -signal.SIGKILL
    assert not (out / "meta" / "info.json").exists() or len(load_manifest(out)) < 4  # it did not finish
    rerun = run_cluster(load_pipeline(recipe), out, progress=False)
    assert rerun.summary.samples_skipped >= 1  # the killed run's committed shards were kept
    _same_dataset(out, expected)


def test_ray_keys_are_typed_and_left_out_of_the_recipe_hash(serial, tmp_path) -> None:
    cfg = load_pipeline(serial[0])
    assert (cfg.ray.track_actors, cfg.ray.render_workers) == (2, 2)
    before = cfg.hash()
    cfg.ray.track_actors, cfg.ray.num_gpus_per_track_actor = 8, 0.5
    assert cfg.hash() == before  # placement changes nothing in the rows
    cfg.sampling.fps = 3.0
    assert cfg.hash() != before
    bad = tmp_path / "bad.yaml"
    bad.write_text(serial[0].read_text().replace("track_actors:", "track_actor:"))
    with pytest.raises(ConfigError, match="track_actor"):
        load_pipeline(bad)
