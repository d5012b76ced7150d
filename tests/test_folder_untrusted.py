"""A dataset folder from someone else: nothing outside it is deleted, written or read through a crafted
manifest part, manifest entry or link, and nothing in it changes before a render has claimed it.
Real shards from the real pipeline; `vcprep render`, `export`, `preview` and `verify` as users run them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from shard_recipes import good_records, render_small

from vcprep.dataset.export import export_dataset
from vcprep.dataset.preview import contact_sheet
from vcprep.dataset.verify import verify_dataset
from vcshard.layout import MANIFEST_PARTS_DIR, MANIFEST_PATH
from vcshard.manifest import load_manifest
from vcshard.schema import DatasetFormatError
from vctrain.data.reader import ShardCheckError, index_rows

CLI = [sys.executable, "-m", "vcprep.cli"]



def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)


def _other_recipe(recipe: Path, tmp_path: Path) -> Path:
    data = yaml.safe_load(recipe.read_text())
    data["variants"] = ["raw"]  # another recipe: its rows differ
    data["source"]["annotations"] = str(recipe.parent / data["source"]["annotations"])
    data["source"]["data_root"] = str(recipe.parent / data["source"]["data_root"])
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(data))
    return other


@pytest.mark.parametrize("absolute", [False, True])
def test_a_manifest_part_naming_a_file_outside_never_deletes_it(ds: Path, bikes_small: Path, tmp_path: Path,
                                                                absolute: bool) -> None:
    recipe = bikes_small.parent / "recipe.yaml"
    victim = tmp_path / "victim" / "notes.txt"
    victim.parent.mkdir()
    victim.write_text("someone else's notes")
    listed = load_manifest(ds)[0]["sample_ids"][0]
    shard = str(victim) if absolute else "../victim/notes.txt"
    part = ds / MANIFEST_PARTS_DIR / "w0.jsonl"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_text(json.dumps({"shard": shard, "sample_ids": [listed], "num_rows": 2, "num_row_groups": 1,
                                "bytes": victim.stat().st_size, "sha256": "0" * 64}) + "\n")
    refused = _cli("render", str(_other_recipe(recipe, tmp_path)), "--out", str(ds), "-q")
    assert refused.returncode == 2 and "another recipe" in refused.stderr, refused.stderr
    assert victim.read_text() == "someone else's notes"
    assert part.is_file()  # the refused run changed nothing in the folder, the part included
    resumed = _cli("render", str(recipe), "--out", str(ds), "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert victim.read_text() == "someone else's notes"
    assert verify_dataset(ds, decode_frames=False).ok


def test_a_part_line_naming_another_workers_or_a_listed_shard_deletes_nothing(ds: Path) -> None:
    from vcprep.dataset.manifest import merge_parts

    entries = load_manifest(ds)
    part = ds / MANIFEST_PARTS_DIR / "w0.jsonl"
    part.parent.mkdir(parents=True, exist_ok=True)
    before = sorted(p.name for p in (ds / "data").iterdir())
    lines = [{**entries[0], "shard": entries[1]["shard"]},  # a listed shard, under another worker's part
             {**entries[1], "shard": "data/shard-w1-00000.parquet"}]  # a shard of worker w1, not w0
    (ds / "data" / "shard-w1-00000.parquet").write_bytes((ds / entries[1]["shard"]).read_bytes())
    part.write_text("".join(json.dumps(e) + "\n" for e in lines))
    assert merge_parts(ds) == 0
    assert sorted(p.name for p in (ds / "data").iterdir()) == sorted([*before, "shard-w1-00000.parquet"])
    assert load_manifest(ds) == entries


def test_a_linked_data_folder_is_refused_before_anything_in_it_is_deleted(ds: Path, bikes_small: Path,
                                                                          tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.move(ds / "data", elsewhere)
    (elsewhere / "precious.parquet").write_bytes(b"not listed in any manifest")
    (ds / "data").symlink_to(elsewhere)
    done = _cli("render", str(bikes_small.parent / "recipe.yaml"), "--out", str(ds), "-q")
    assert done.returncode == 2 and "symbolic link" in done.stderr, done.stderr
    assert (elsewhere / "precious.parquet").read_bytes() == b"not listed in any manifest"
    report = verify_dataset(ds, decode_frames=False)
    assert not report.ok and any("data/ is a symbolic link" in p for p in report.problems)


def test_links_planted_at_the_folders_temporary_and_card_names_are_never_written_through(
    ds: Path, bikes_small: Path, tmp_path: Path,
) -> None:
    victims = {}
    for rel in ("meta/manifest.jsonl.tmp", "meta/recipe.json.tmp", "meta/info.json.tmp", "README.md"):
        victim = tmp_path / f"victim-{rel.replace('/', '_')}"
        victim.write_text("precious")
        (ds / rel).unlink(missing_ok=True)
        (ds / rel).symlink_to(victim)
        victims[rel] = victim
    lock_victim = tmp_path / "victim-lock"
    lock_victim.write_text("precious")
    done = _cli("render", str(bikes_small.parent / "recipe.yaml"), "--out", str(ds), "-q")
    assert done.returncode == 0, done.stderr
    assert all(v.read_text() == "precious" for v in victims.values())
    assert not (ds / "README.md").is_symlink() and "shard-test" in (ds / "README.md").read_text()
    (ds / "meta" / ".lock").unlink()
    (ds / "meta" / ".lock").symlink_to(lock_victim)  # the lock file is opened without truncating or following
    again = _cli("render", str(bikes_small.parent / "recipe.yaml"), "--out", str(ds), "-q")
    assert again.returncode == 3 and "Traceback" not in again.stderr, again.stderr
    assert lock_victim.read_text() == "precious"


def _entry_outside(ds: Path, tmp_path: Path, how: str) -> None:
    entries = load_manifest(ds)
    outside = tmp_path / "outside.parquet"
    shutil.copy(ds / entries[0]["shard"], outside)
    if how == "absolute":
        entries[0] = {**entries[0], "shard": str(outside)}
    else:
        (ds / entries[0]["shard"]).unlink()
        (ds / entries[0]["shard"]).symlink_to(outside)
    (ds / MANIFEST_PATH).write_text("".join(json.dumps(e) + "\n" for e in entries))


@pytest.mark.parametrize("how", ["absolute", "symlink"])
def test_export_and_preview_refuse_an_entry_outside_the_folder_as_verify_does(ds: Path, tmp_path: Path,
                                                                              how: str) -> None:
    _entry_outside(ds, tmp_path, how)
    assert not verify_dataset(ds, decode_frames=False).ok
    with pytest.raises(DatasetFormatError, match="entry 1"):
        export_dataset(ds, tmp_path / "export", to="verl")
    with pytest.raises(DatasetFormatError, match="entry 1"):
        contact_sheet(ds)
    with pytest.raises((ShardCheckError, FileNotFoundError)):
        index_rows([str(ds)], "raw")
    for args in (["export", str(ds), "--to", "easyr1", "--out", str(tmp_path / "e2")],
                 ["preview", str(ds), "--out", str(tmp_path / "p.png")]):
        done = _cli(*args)
        assert done.returncode == 2 and "entry 1" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "e2" / "train.parquet").exists() and not (tmp_path / "p.png").exists()


HOSTILE_IDS = ["ok", "./ok", "../x", "%2E%2E/x", "a\x00b", "a" * 300, "/abs", "."]


def test_export_gives_every_sample_id_its_own_safe_frame_files(tmp_path: Path, media_dir: Path) -> None:
    base = good_records()[4]
    records = [{**base, "id": sid} for sid in HOSTILE_IDS]
    ds = render_small(tmp_path / "r", media_dir, records, variants=["raw"], sampling={"fps": 1.0, "max_frames": 2})
    out = tmp_path / "export"
    result = export_dataset(ds, out, to="verl")
    table = pq.read_table(result.path).to_pylist()
    assert sorted(r["extra_info"]["sample_id"] for r in table) == sorted(HOSTILE_IDS)
    folders = {r["extra_info"]["sample_id"]: {str(Path(p).parent) for p in r["videos"][0]["video"]} for r in table}
    assert all(len(f) == 1 for f in folders.values())
    assert len({next(iter(f)) for f in folders.values()}) == len(HOSTILE_IDS)  # one folder per id
    written = [p for p in tmp_path.rglob("*.jpg")]
    assert all((out / "frames") in p.parents for p in written)
    assert all(len(part) < 80 for p in written for part in p.relative_to(out).parts)
    for row in table:  # every path holds that row's own frame bytes
        sid = row["extra_info"]["sample_id"]
        stored = next(r for r in _rows(ds) if r["sample_id"] == sid)
        assert [(out / p).read_bytes() for p in row["videos"][0]["video"]] == [f["bytes"] for f in stored["frames"]]


def _rows(ds: Path) -> list[dict]:
    from vcprep.dataset.reader import iter_rows

    return list(iter_rows(ds, columns=["sample_id", "frames"]))


def test_the_data_root_contract_links_inside_are_followed_paths_out_are_refused(tmp_path: Path,
                                                                                media_dir: Path) -> None:
    """The contract (README, "Folders, caches and recipes from someone else"): whoever can write the data
    root is trusted, so a link placed in it is followed wherever it points; an annotation file is not, so a
    path in it that climbs out of the root or is absolute is refused and recorded, and the rest completes."""
    from shard_recipes import write_recipe

    from vcprep.core.config import load_pipeline
    from vcprep.pipeline import run_pipeline

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copyfile(media_dir / "bikes.mp4", outside / "street.mp4")
    base = good_records()[4]
    records = [{**base, "id": "linked", "video": "linked/street.mp4"},
               {**base, "id": "climbs", "video": "../elsewhere/street.mp4"},
               {**base, "id": "absolute", "video": str(outside / "street.mp4")}]
    recipe = write_recipe(tmp_path, media_dir, records, variants=["raw"])
    (tmp_path / "data_root" / "linked").symlink_to(outside, target_is_directory=True)
    summary = run_pipeline(load_pipeline(recipe), tmp_path / "out", progress=False)
    assert summary.samples_written == 1
    refused = {e.sample_id: e.reason for e in summary.errors}
    assert set(refused) == {"climbs", "absolute"}, refused
    assert "escapes the data root" in refused["climbs"] and "absolute" in refused["absolute"]
    assert verify_dataset(tmp_path / "out").ok
