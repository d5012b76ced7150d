"""The shard format as a contract: documented, versioned, bounded, loadable, carded."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from shard_recipes import good_records, render_small

from vcprep.dataset.info import load_info
from vcprep.dataset.reader import iter_rows
from vcprep.dataset.writers import SampleTooLargeError, ShardWriter
from vcshard.layout import INFO_PATH
from vcshard.manifest import load_manifest
from vcshard.schema import FORMAT_VERSION, FormatVersionError, arrow_schema

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    return render_small(tmp_path_factory.mktemp("shards"), media_dir, samples_per_shard=4)


def _sample_rows(ds: Path) -> list[tuple[str, list[dict]]]:
    by_sample: dict[str, list[dict]] = {}
    for row in iter_rows(ds):
        row.pop("row_sha256")
        by_sample.setdefault(row["sample_id"], []).append(row)
    return list(by_sample.items())


def test_info_tolerates_unknown_keys_and_refuses_a_newer_major(small: Path, tmp_path: Path) -> None:
    import shutil

    ds = tmp_path / "ds"
    shutil.copytree(small, ds)
    info = json.loads((ds / INFO_PATH).read_text())
    info["format_version"] = "1.9"  # a newer minor: readable, its new keys kept
    info["added_by_a_future_minor"] = {"x": 1}
    (ds / INFO_PATH).write_text(json.dumps(info))
    loaded = load_info(ds)
    assert loaded.extra == {"added_by_a_future_minor": {"x": 1}} and loaded.num_samples == 6
    info["format_version"] = "2.0"
    (ds / INFO_PATH).write_text(json.dumps(info))
    with pytest.raises(FormatVersionError, match=r"2\.0 is newer than this reader"):
        next(iter_rows(ds))
    done = subprocess.run([sys.executable, "-m", "vcprep.cli", "stats", str(ds)], capture_output=True, text=True)
    assert done.returncode == 2 and "newer than this reader" in done.stderr


def test_layout_zstd_page_index_and_one_row_group_per_sample_set(small: Path) -> None:
    manifest = load_manifest(small)
    assert [e["sample_ids"] for e in manifest] == [["vtest-a", "vtest-b", "vtest-c", "vtest-d"],
                                                  ["bikes-a", "bikes-b"]]
    for entry in manifest:
        pf = pq.ParquetFile(small / entry["shard"])
        assert pf.metadata.num_row_groups == entry["num_row_groups"]
        assert pf.schema_arrow.metadata[b"vcprep_format_version"].decode() == FORMAT_VERSION
        col = pf.metadata.row_group(0).column(pf.schema_arrow.get_field_index("frames"))
        assert col.compression == "ZSTD" and col.has_offset_index and col.has_column_index is not None
        for rg in range(pf.num_row_groups):
            ids = pf.read_row_group(rg, columns=["sample_id"]).column(0).to_pylist()
            assert len(ids) % 2 == 0  # both variants of every sample in the group


def test_row_group_and_shard_byte_bounds_keep_samples_whole(small: Path, tmp_path: Path) -> None:
    samples = _sample_rows(small)
    one = pq.read_table(small / load_manifest(small)[0]["shard"]).slice(0, 2).nbytes  # ~ one sample
    out = tmp_path / "bounded"
    writer = ShardWriter(out, max_shard_bytes=int(3.5 * one), max_row_group_bytes=int(1.5 * one))
    for sample_id, rows in samples:
        writer.write_sample(sample_id, rows)
    writer.close()
    manifest = load_manifest(out)
    assert sorted(s for e in manifest for s in e["sample_ids"]) == sorted(s for s, _ in samples)
    assert len(manifest) >= 2
    for entry in manifest:
        pf = pq.ParquetFile(out / entry["shard"])
        assert len(entry["sample_ids"]) <= 3
        for rg in range(pf.num_row_groups):
            t = pf.read_row_group(rg)
            ids = t.column("sample_id").to_pylist()
            assert all(ids.count(s) == 2 for s in set(ids))  # whole samples only
            assert len(set(ids)) == 1 or t.nbytes <= 1.5 * one
    # same rows, same content hashes, whatever the bounds
    assert sorted(_hashes(out)) == sorted(_hashes(small))


def _hashes(ds: Path) -> list[str]:
    return [h for e in load_manifest(ds) for h in pq.read_table(ds / e["shard"]).column("row_sha256").to_pylist()]


def test_an_oversized_row_is_refused_with_a_clear_error(small: Path, tmp_path: Path) -> None:
    sample_id, rows = _sample_rows(small)[0]
    writer = ShardWriter(tmp_path / "big", max_row_bytes=10_000)
    with pytest.raises(SampleTooLargeError, match=rf"sample {sample_id} variant raw: one row is .* MiB"):
        writer.write_sample(sample_id, rows)
    writer.close()
    assert load_manifest(tmp_path / "big") == []


def test_datasets_loads_the_shards_with_image_frames(small: Path) -> None:
    ds = datasets.load_dataset("parquet", data_files=str(small / "data/*.parquet"), split="train")
    assert len(ds) == 12 and isinstance(ds.features["frames"], datasets.List)
    assert isinstance(ds.features["frames"].feature, datasets.Image)
    row = ds[0]
    assert row["frames"][0].size == (row["frame_width"], row["frame_height"])


def test_data_card_header_statistics_and_provenance(small: Path) -> None:
    card = (small / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["license"] == "bsd-3-clause" and header["task_categories"] == ["video-text-to-text"]
    assert header["configs"][0]["data_files"][0]["path"] == "data/*.parquet"
    names = [f["name"] for f in header["dataset_info"]["features"]]
    assert names == [f.name for f in arrow_schema()]
    frames = next(f for f in header["dataset_info"]["features"] if f["name"] == "frames")
    assert frames["list"] == "image"
    info = load_info(small)
    assert f"| samples | {info.num_samples} |" in card and "mean oracle vIoU" in card
    prov = info.provenance
    assert prov["config_hash"] == info.config_hash and prov["detector"]["name"] == "hog"
    assert prov["tracker"]["params"]["lost_track_buffer"] == 4
    assert {"numpy", "pyarrow", "opencv-python"} <= set(prov["packages"])
    assert re.fullmatch(r"[0-9a-f]{64}", prov["annotation_files"]["ann.jsonl"])
    assert info.stats["mean_oracle_viou"] is not None  # vtest-a carries ground-truth boxes
    assert len(good_records()) == info.num_samples
