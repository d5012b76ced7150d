"""`vcprep verify` passes a good dataset and names the problem in a damaged one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shard_recipes import render_small

from vcprep.dataset.verify import verify_dataset
from vcshard.hashing import row_content_hash, sha256_file
from vcshard.layout import MANIFEST_PATH
from vcshard.manifest import load_manifest
from vcshard.schema import arrow_schema


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    return render_small(tmp_path_factory.mktemp("verify"), media_dir, samples_per_shard=3)


@pytest.fixture()
def ds(small: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "ds"
    shutil.copytree(small, dst)
    return dst


def _cli_verify(ds: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vcprep.cli", "verify", str(ds)],
                          capture_output=True, text=True, timeout=120)


def _rewrite_shard(ds: Path, index: int, edit, *, update_manifest: bool) -> None:
    """Rewrite shard `index` with `edit(rows)` applied, keeping the writer's schema and row groups."""
    entry = load_manifest(ds)[index]
    path = ds / entry["shard"]
    pf = pq.ParquetFile(path)
    groups = [pf.read_row_group(i).to_pylist() for i in range(pf.num_row_groups)]
    edit(groups[0])
    with pq.ParquetWriter(path, arrow_schema(), compression="zstd") as w:
        for rows in groups:
            w.write_table(pa.Table.from_pylist(rows, schema=arrow_schema()))
    if update_manifest:  # a careful tamperer also fixes the manifest
        manifest = load_manifest(ds)
        manifest[index].update(sha256=sha256_file(path), bytes=path.stat().st_size)
        (ds / MANIFEST_PATH).write_text("".join(json.dumps(e) + "\n" for e in manifest))


def test_a_good_dataset_passes(small: Path) -> None:
    report = verify_dataset(small)
    assert report.ok, report.problems
    assert (report.shards, report.samples, report.rows) == (2, 6, 12)
    assert report.frames_decoded == 72  # 6 samples x 2 variants x 6 frames, every one decoded
    done = _cli_verify(small)
    assert done.returncode == 0 and done.stdout.strip().endswith("OK")


def test_a_truncated_shard_is_caught(ds: Path) -> None:
    path = ds / load_manifest(ds)[1]["shard"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    done = _cli_verify(ds)
    assert done.returncode == 1
    assert "truncated?" in done.stdout and "not a readable Parquet file" in done.stdout


def test_a_tampered_row_is_caught_even_with_a_fixed_manifest(ds: Path) -> None:
    def edit(rows: list[dict]) -> None:
        rows[1]["answer"] = "Target ID: 1, Time range: 0.00 to 99.00"

    _rewrite_shard(ds, 0, edit, update_manifest=True)
    report = verify_dataset(ds)
    assert not report.ok
    assert len(report.problems) == 1 and "changed after writing" in report.problems[0]
    assert "vtest-a variant id_tags" in report.problems[0]
    done = _cli_verify(ds)
    assert done.returncode == 1 and "row_sha256" in done.stdout


def test_a_changed_file_is_caught_by_the_manifest_hash(ds: Path) -> None:
    def edit(rows: list[dict]) -> None:
        rows[0]["question"] = rows[0]["question"] + " "

    _rewrite_shard(ds, 0, edit, update_manifest=False)
    problems = verify_dataset(ds).problems
    assert any("sha256 differs from the manifest" in p for p in problems)
    assert any("changed after writing" in p for p in problems)


def test_an_undecodable_frame_is_caught(ds: Path) -> None:
    def edit(rows: list[dict]) -> None:
        rows[0]["frames"][2]["bytes"] = b"\xff\xd8 not really a jpeg"
        rows[0]["row_sha256"] = row_content_hash(rows[0])  # even with a matching row hash

    _rewrite_shard(ds, 0, edit, update_manifest=True)
    problems = verify_dataset(ds).problems
    # refused from its header, before any decoder sees it (vcshard/frames.py: byte 2 should start a marker)
    assert problems == ["data/shard-00000.parquet sample vtest-a variant raw: frame 2: "
                        "damaged JPEG header (no marker at byte 2)"]


def test_duplicates_strays_and_count_mismatches_are_caught(ds: Path) -> None:
    manifest = load_manifest(ds)
    shutil.copy(ds / manifest[1]["shard"], ds / "data/shard-00007.parquet")
    extra = {**manifest[1], "shard": "data/shard-00007.parquet"}
    (ds / MANIFEST_PATH).write_text("".join(json.dumps(e) + "\n" for e in [*manifest, extra]))
    (ds / "data/shard-00008.parquet.tmp").write_bytes(b"half")
    problems = "\n".join(verify_dataset(ds).problems)
    assert "sample vtest-d is listed in 2 shards" in problems
    assert "variant raw: duplicate row" in problems
    assert "data/shard-00008.parquet.tmp: not in the manifest" in problems
    assert "num_shards 2, manifest lists 3" in problems and "num_rows 12, manifest sums to 18" in problems


def test_a_dataset_without_info_is_refused(ds: Path) -> None:
    (ds / "meta/info.json").unlink()
    done = _cli_verify(ds)
    assert done.returncode == 1 and "not a vcprep dataset" in done.stdout
