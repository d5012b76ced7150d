"""Kill, disk-full, second-writer and changed-recipe faults of `vcprep render`.

Real CLI subprocesses on real videos with the `gt` detector (boxes from the annotations, so the
detections of one sample shape the track IDs of the others) and a real 2 MiB tmpfs for ENOSPC.
Each test asserts that the dataset afterwards holds exactly the rows of an uninterrupted run:
nothing lost, nothing duplicated, `vcprep verify` OK.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from shard_recipes import DEMO_BOXES, write_recipe
from test_resume import _manifest_lines, _render_and_kill, _rows

import vcprep.pipeline as pipeline
from vcprep.core.config import load_pipeline
from vcprep.dataset.lock import DatasetLockedError
from vcprep.dataset.verify import verify_dataset
from vcprep.dataset.writers import ShardWriter
from vcshard.layout import MANIFEST_PATH, RECIPE_PATH
from vcshard.manifest import load_manifest

CLI = [sys.executable, "-m", "vcprep.cli"]


def _moving(first: int, last: int, x: float, y: float) -> dict[str, list[float]]:
    """A box drifting right by 2 px a frame on every frame of [first, last]."""
    return {str(f): [x + 2 * (f - first), y, x + 2 * (f - first) + 50, y + 110] for f in range(first, last + 1)}


def gt_records() -> list[dict]:
    """Five samples on two videos; each annotates a different object, so a resume that tracked only the
    pending samples' boxes would number the tracks differently."""
    return [
        {"id": "vtest-a", "video": "vtest.avi", "question": "Who walks alone up the path?",
         "span_seconds": [4.6, 10.6], "clip_seconds": [2.0, 14.0], "boxes": DEMO_BOXES},
        {"id": "vtest-b", "video": "vtest.avi", "question": "Who crosses from the left?",
         "span_seconds": [18.0, 24.0], "clip_seconds": [16.0, 26.0], "boxes": _moving(170, 250, 60, 200)},
        {"id": "vtest-c", "video": "vtest.avi", "question": "Who stands near the door?",
         "span_seconds": [40.0, 44.0], "clip_seconds": [1.0, 46.0], "boxes": _moving(390, 450, 300, 150)},
        {"id": "bikes-a", "video": "bikes.mp4", "question": "Which cyclist rides past first?",
         "span_seconds": [1.0, 4.0], "clip_seconds": [0.0, 6.0], "boxes": _moving(20, 90, 40, 80)},
        {"id": "bikes-b", "video": "bikes.mp4", "question": "Which car drives by at the end?",
         "span_seconds": [6.0, 9.0], "clip_seconds": [0.0, 10.0], "boxes": _moving(150, 220, 200, 100)},
    ]


def _gt_recipe(folder: Path, media_dir: Path, **overrides: object) -> Path:
    return write_recipe(folder, media_dir, gt_records(), samples_per_shard=1,
                        detector={"name": "gt", "params": {"tolerance_frames": 2}}, **overrides)


def _render(recipe: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "render", str(recipe), "--out", str(out), "-q", *extra],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def gt_recipe(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    return _gt_recipe(tmp_path_factory.mktemp("gt"), media_dir)


@pytest.fixture(scope="module")
def gt_reference(gt_recipe: Path) -> list[tuple[str, str, str]]:
    done = _render(gt_recipe, gt_recipe.parent / "reference")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(gt_recipe.parent / "reference")
    assert len(rows) == 10 and len(set(rows)) == 10
    return rows


def _assert_same_dataset(out: Path, reference: list) -> None:
    rows = _rows(out)
    assert len(rows) == len(set(rows)), "duplicate rows"
    assert sorted(rows) == sorted(reference), "rows lost, added or different from an uninterrupted run"
    report = verify_dataset(out)
    assert report.ok, report.problems


@pytest.mark.slow  # a killed and a resumed render
def test_gt_detector_kill_after_three_shards_then_resume_gives_the_uninterrupted_rows(
    gt_recipe: Path, gt_reference: list,
) -> None:
    out = gt_recipe.parent / "killed"
    assert _render_and_kill(gt_recipe, out, lambda t: _manifest_lines(out) >= 3), "the run ended before the kill"
    partial = _rows(out)
    assert 3 <= len(partial) // 2 < 5 and set(partial) <= set(gt_reference)
    done = _render(gt_recipe, out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already done" in done.stdout
    _assert_same_dataset(out, gt_reference)


def test_gt_detector_resume_of_a_half_done_video_gives_the_uninterrupted_rows(
    gt_recipe: Path, gt_reference: list, tmp_path: Path,
) -> None:
    """The state a kill between two samples of one video leaves, built exactly: vtest-a written, vtest-b and
    vtest-c not. Tracking only the pending samples' boxes would give vtest-c other tracks (checked: other
    row hashes), so this fails if a resume plans tracking from the pending samples alone."""
    out = tmp_path / "ds"
    shutil.copytree(gt_recipe.parent / "reference", out)
    entries = load_manifest(out)
    keep = [e for e in entries if not set(e["sample_ids"]) & {"vtest-b", "vtest-c"}]
    for e in entries:
        if e not in keep:
            (out / e["shard"]).unlink()
    (out / MANIFEST_PATH).write_text("".join(json.dumps(e) + "\n" for e in keep))
    done = _render(gt_recipe, out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 samples already done" in done.stdout
    _assert_same_dataset(out, gt_reference)


@pytest.mark.slow  # three renders
def test_a_changed_recipe_is_refused_then_redone_with_overwrite(gt_recipe: Path, gt_reference: list) -> None:
    out = gt_recipe.parent / "changed"
    shutil.copytree(gt_recipe.parent / "reference", out)
    data = yaml.safe_load(gt_recipe.read_text())
    data["variants"] = ["raw", "boxes"]
    other = gt_recipe.parent / "other.yaml"
    other.write_text(yaml.safe_dump(data))
    done = _render(other, out)
    assert done.returncode == 2 and "holds a dataset of another recipe" in done.stderr, done.stderr
    assert sorted(_rows(out)) == sorted(gt_reference)  # untouched: no mix of two recipes
    done = _render(other, out, "--overwrite")
    assert done.returncode == 0, done.stderr
    rows = _rows(out)
    assert {r[1] for r in rows} == {"raw", "boxes"} and len(rows) == 10  # redone, not mixed
    assert json.loads((out / "meta/info.json").read_text())["variants"] == ["raw", "boxes"]
    assert verify_dataset(out).ok
    # a run killed before info.json exists is recognised too (meta/recipe.json is written first)
    killed = gt_recipe.parent / "changed-killed"
    assert _render_and_kill(gt_recipe, killed, lambda t: _manifest_lines(killed) >= 1)
    assert (killed / RECIPE_PATH).is_file() and not (killed / "meta/info.json").exists()
    assert _render(other, killed).returncode == 2


def test_a_folder_written_before_recipe_json_is_judged_by_info_json(gt_recipe: Path, gt_reference: list) -> None:
    out = gt_recipe.parent / "legacy"
    shutil.copytree(gt_recipe.parent / "reference", out)
    (out / RECIPE_PATH).unlink()
    data = yaml.safe_load(gt_recipe.read_text())
    data["sampling"]["max_frames"] = 4
    other = gt_recipe.parent / "legacy-other.yaml"
    other.write_text(yaml.safe_dump(data))
    assert _render(other, out).returncode == 2
    done = _render(gt_recipe, out)  # the same recipe resumes (nothing to do) and records its hash
    assert done.returncode == 0 and "5 samples already done" in done.stdout, done.stdout + done.stderr
    assert (out / RECIPE_PATH).is_file()
    _assert_same_dataset(out, gt_reference)


def test_the_lock_is_held_until_errors_info_and_card_are_written(
    gt_recipe: Path, gt_reference: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "ds"
    shutil.copytree(gt_recipe.parent / "reference", out)
    shutil.rmtree(out / "data")
    (out / "meta/manifest.jsonl").unlink()
    (out / "meta/info.json").unlink()
    real_finalize = pipeline.finalize_dataset
    seen: list[bool] = []

    def finalize_then_check(root: Path, config: object, summary: object) -> object:
        with pytest.raises(DatasetLockedError):  # a second render would start here if the lock were gone
            ShardWriter(root)
        info = real_finalize(root, config, summary)
        with pytest.raises(DatasetLockedError):
            ShardWriter(root)
        seen.append(True)
        return info

    monkeypatch.setattr(pipeline, "finalize_dataset", finalize_then_check)
    pipeline.run_pipeline(load_pipeline(gt_recipe), out, progress=False)
    assert seen == [True]
    ShardWriter(out).close()  # released once the run returned
    _assert_same_dataset(out, gt_reference)


def test_a_second_writer_exits_3_and_leaves_the_folder_to_the_first(gt_recipe: Path, tmp_path: Path) -> None:
    out = tmp_path / "busy"
    first = ShardWriter(out)  # another render holds the folder
    try:
        done = _render(gt_recipe, out)
        assert done.returncode == 3, done.stdout + done.stderr
        assert "another `vcprep render` is writing this folder" in done.stderr and "Traceback" not in done.stderr
        assert not any((out / "data").iterdir()) and not (out / RECIPE_PATH).exists()
    finally:
        first.close()


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


@pytest.mark.slow  # a failed and a full render
def test_disk_full_exits_3_commits_nothing_half_written_and_a_rerun_completes(
    gt_recipe: Path, gt_reference: list, tmp_path: Path,
) -> None:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "2m")
    try:
        reference_bytes = sum(p.stat().st_size for p in (gt_recipe.parent / "reference/data").iterdir())
        filler = disk / "filler"
        free = 2 * 2**20 - reference_bytes // 2  # room for about half the shards
        filler.write_bytes(b"\0" * free)
        out = disk / "ds"
        done = _render(gt_recipe, out)
        assert done.returncode == 3, done.stdout + done.stderr
        assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
        partial = _rows(out)
        assert len(partial) < len(gt_reference) and set(partial) <= set(gt_reference)
        assert not any(p.name.endswith(".tmp") for p in (out / "data").iterdir())
        filler.unlink()
        done = _render(gt_recipe, out)
        assert done.returncode == 0, done.stdout + done.stderr
        _assert_same_dataset(out, gt_reference)
    finally:
        subprocess.run(["umount", str(disk)], check=False)
