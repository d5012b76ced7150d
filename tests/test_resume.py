"""`vcprep render` killed with SIGKILL at several points, then resumed, loses nothing.

Real subprocesses of the real CLI on real videos (vtest.avi, bikes.mp4) with one sample per
shard, so kills land between, before and during shard writes. The resumed dataset must hold
exactly the rows of an uninterrupted run (same content hashes), with no duplicate, and pass
`vcprep verify`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from shard_recipes import good_records, write_recipe

from vcprep.dataset.lock import DatasetLockedError
from vcprep.dataset.verify import verify_dataset
from vcprep.dataset.writers import ShardWriter
from vcshard.layout import MANIFEST_PATH
from vcshard.manifest import load_manifest

CLI = [sys.executable, "-m", "vcprep.cli"]


def _render(recipe: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "render", str(recipe), "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=300)


def _manifest_lines(out: Path) -> int:
    path = out / MANIFEST_PATH
    return len(path.read_text().splitlines()) if path.is_file() else 0


def _tmp_exists(out: Path) -> bool:
    data = out / "data"
    return data.is_dir() and any(p.name.endswith(".tmp") for p in data.iterdir())


def _render_and_kill(recipe: Path, out: Path, when: Callable[[float], bool]) -> bool:
    """Start a render, SIGKILL it as soon as `when(elapsed_seconds)` holds; True if it was killed."""
    proc = subprocess.Popen([*CLI, "render", str(recipe), "--out", str(out), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.perf_counter()
    try:
        while proc.poll() is None:
            if when(time.perf_counter() - t0):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.0005)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _rows(out: Path) -> list[tuple[str, str, str]]:
    rows = []
    for entry in load_manifest(out):
        t = pq.read_table(out / entry["shard"], columns=["sample_id", "variant", "row_sha256"])
        rows += list(zip(*(t.column(c).to_pylist() for c in t.column_names)))
    return rows


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    # the whole video is tracked so that the cheap half-size HOG finds some track (none inside the clips)
    return write_recipe(tmp_path_factory.mktemp("resume"), media_dir, good_records(), samples_per_shard=1,
                        decode={"backend": "cv2", "track_fps": 2.0, "track_whole_video": True})


@pytest.fixture(scope="module")
def reference(recipe: Path) -> list[tuple[str, str, str]]:
    out = recipe.parent / "reference"
    done = _render(recipe, out)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(out)
    assert len(rows) == 12 and len({r[0] for r in rows}) == 6
    return rows


@pytest.mark.slow  # two full renders
def test_identical_runs_give_identical_content_hashes(recipe: Path, reference: list) -> None:
    out = recipe.parent / "second"
    done = _render(recipe, out)
    assert done.returncode == 0, done.stderr
    assert _rows(out) == reference
    ref_manifest = load_manifest(recipe.parent / "reference")
    # same shards byte for byte, not only the same rows
    assert [e["sha256"] for e in load_manifest(out)] == [e["sha256"] for e in ref_manifest]
    info_a = json.loads((out / "meta/info.json").read_text())
    info_b = json.loads((recipe.parent / "reference/meta/info.json").read_text())
    assert info_a["config_hash"] == info_b["config_hash"] and info_a["stats"] == info_b["stats"]


@pytest.mark.slow  # several killed and resumed renders
def test_kill_9_at_several_points_then_resume_loses_nothing(recipe: Path, reference: list) -> None:
    out = recipe.parent / "killed"
    # 1) during start-up / tracking, before any shard exists
    assert _render_and_kill(recipe, out, lambda t: t > 0.8)
    assert _manifest_lines(out) == 0
    # 2) as soon as the first shard is listed (the next ones are being written)
    assert _render_and_kill(recipe, out, lambda t: _manifest_lines(out) >= 1)
    after_second = _manifest_lines(out)
    assert 1 <= after_second < 6
    # 3) while a shard is open under its temporary name (if the poll catches one), else after one more
    _render_and_kill(recipe, out, lambda t: _tmp_exists(out) or _manifest_lines(out) > after_second)
    partial = _rows(out)
    assert len(partial) < len(reference) and len(set(partial)) == len(partial)
    assert set(partial) <= set(reference)  # what survived a kill is exactly what a clean run writes
    # 4) resume to the end
    done = _render(recipe, out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already done" in done.stdout
    final = _rows(out)
    assert sorted(final) == sorted(reference), "missing or extra rows after resume"
    assert len(final) == len(set(final)), "duplicate rows after resume"
    assert not _tmp_exists(out)
    report = verify_dataset(out)
    assert report.ok, report.problems
    assert report.samples == 6 and report.rows == 12
    # the card and info.json describe the whole dataset, not only the last run's videos
    info = json.loads((out / "meta/info.json").read_text())
    ref_info = json.loads((recipe.parent / "reference/meta/info.json").read_text())
    assert info["stats"] == ref_info["stats"] and info["stats"]["track_length_frames"]["tracks"] > 0


def test_resume_cleans_every_state_a_kill_can_leave(recipe: Path, reference: list, tmp_path: Path) -> None:
    """The three states a SIGKILL inside close_shard can leave, built exactly, then a real resume."""
    import shutil

    out = tmp_path / "ds"
    shutil.copytree(recipe.parent / "reference", out)
    manifest = load_manifest(out)
    kept, dropped = manifest[:3], manifest[3:]
    # a) killed after the rename, before the manifest append: a complete shard nobody listed
    # b) killed during the append: a torn last line with no newline
    # c) killed while writing: a .tmp file
    lines = "".join(json.dumps(e) + "\n" for e in kept) + json.dumps(dropped[0])[:40]
    (out / MANIFEST_PATH).write_text(lines)
    (out / "data/shard-00099.parquet.tmp").write_bytes(b"PAR1 half a shard")
    writer = ShardWriter(out, samples_per_shard=1)
    assert writer.done == {s for e in kept for s in e["sample_ids"]}
    assert sorted(p.name for p in (out / "data").iterdir()) == [Path(e["shard"]).name for e in kept]
    assert (out / MANIFEST_PATH).read_text().endswith("\n")  # the torn line is gone, appends stay whole
    with pytest.raises(DatasetLockedError, match="another `vcprep render` is writing this folder"):
        ShardWriter(out)  # a second writer on the same folder is refused while the first is open
    writer.close()
    done = _render(recipe, out)
    assert done.returncode == 0, done.stderr
    assert sorted(_rows(out)) == sorted(reference)
    assert verify_dataset(out).ok
