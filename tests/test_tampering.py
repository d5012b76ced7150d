"""Tampered or hand-edited dataset folders are rejected, with the reason, by `vcprep verify`
and by `vctrain` when it loads shards (cheap checks always, sha256 with `full_check`, row hashes as
rows are read); an export never writes outside its folder. Real shards rendered by the real pipeline.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shard_recipes import good_records, render_small

from vcprep.dataset.export import export_dataset
from vcprep.dataset.verify import verify_dataset
from vcshard.hashing import row_content_hash, sha256_file
from vcshard.layout import MANIFEST_PATH
from vcshard.manifest import load_manifest
from vcshard.schema import arrow_schema
from vctrain.data.reader import MAX_PROMPT_CHARS, ShardCheckError, index_rows, load_sample


def _write_manifest(ds: Path, entries: list) -> None:
    (ds / MANIFEST_PATH).write_text("".join(json.dumps(e) + "\n" for e in entries))


def _verify_cli(ds: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vcprep.cli", "verify", str(ds), "--no-frames"],
                          capture_output=True, text=True, timeout=120)


def _refused_everywhere(ds: Path, words: str) -> None:
    report = verify_dataset(ds, decode_frames=False)
    assert not report.ok and any(words in p for p in report.problems), report.problems
    done = _verify_cli(ds)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    with pytest.raises((ShardCheckError, FileNotFoundError)):
        index_rows([str(ds)], "raw")


def test_the_untouched_folder_is_accepted_by_both(bikes_small: Path) -> None:
    assert verify_dataset(bikes_small, decode_frames=False).ok
    refs = index_rows([str(bikes_small)], "raw", full_check=True)
    assert sorted(r.sample_id for r in refs) == ["bikes-a", "bikes-b"]
    assert load_sample(refs[0], 4).frames.shape[0] == 4


def test_a_manifest_entry_outside_the_folder_is_refused(ds: Path, tmp_path: Path) -> None:
    entries = load_manifest(ds)
    outside = tmp_path / "outside.parquet"
    shutil.copy(ds / entries[0]["shard"], outside)
    for shard in ("../outside.parquet", str(outside), "data/../../outside.parquet"):
        _write_manifest(ds, [{**entries[0], "shard": shard}, entries[1]])
        _refused_everywhere(ds, "is not a file directly under data/")


def test_a_shard_replaced_by_a_symlink_is_refused(ds: Path, tmp_path: Path) -> None:
    shard = ds / load_manifest(ds)[0]["shard"]
    outside = tmp_path / "elsewhere.parquet"
    shutil.move(shard, outside)
    shard.symlink_to(outside)  # same bytes, same sha256, but not the dataset's own file
    _refused_everywhere(ds, "is a symbolic link")


@pytest.mark.parametrize(("field", "value", "words"), [
    ("num_rows", "2", "num_rows is str"), ("sample_ids", "bikes-a", "sample_ids is not a list"),
    ("bytes", None, "bytes is NoneType"), ("sha256", 7, "sha256 is int"),
])
def test_wrong_value_types_in_the_manifest_are_refused(ds: Path, field: str, value: object, words: str) -> None:
    entries = load_manifest(ds)
    entries[0][field] = value
    _write_manifest(ds, entries)
    _refused_everywhere(ds, words)


@pytest.mark.parametrize(("change", "words"), [
    ({"num_samples": "2"}, "num_samples is str"), ({"format_version": "abc"}, "is not MAJOR.MINOR"),
    ({"variants": "raw"}, "variants is str"),
])
def test_wrong_value_types_in_info_json_are_refused(ds: Path, change: dict, words: str) -> None:
    info = json.loads((ds / "meta/info.json").read_text())
    (ds / "meta/info.json").write_text(json.dumps({**info, **change}))
    report = verify_dataset(ds, decode_frames=False)
    assert not report.ok and words in report.problems[0]
    assert _verify_cli(ds).returncode == 1
    (ds / "meta/info.json").write_text("[1, 2]")
    assert "expected a JSON object" in verify_dataset(ds).problems[0]


def test_vctrain_refuses_what_verify_refuses(ds: Path) -> None:
    entries = load_manifest(ds)
    # an edited manifest (a shard dropped from it, counts no longer matching info.json)
    _write_manifest(ds, entries[:1])
    _refused_everywhere(ds, "not in the manifest")
    _write_manifest(ds, entries)
    # a truncated shard
    path = ds / entries[0]["shard"]
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    _refused_everywhere(ds, "manifest says")
    # flipped bytes, same size: the cheap load passes, the full check (like verify) refuses
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(flipped))
    assert not verify_dataset(ds, decode_frames=False).ok
    index_rows([str(ds)], "raw")
    with pytest.raises(ShardCheckError, match="sha256 differs"):
        index_rows([str(ds)], "raw", full_check=True)
    # no manifest at all: refused, no longer read blindly
    path.write_bytes(data)
    (ds / MANIFEST_PATH).unlink()
    _refused_everywhere(ds, "missing")


def _rewrite_first_row(ds: Path, edit, *, rehash: bool) -> None:
    """Edit the first row of shard 0 and fix the manifest, as a careful tamperer would (optionally the row hash)."""
    entries = load_manifest(ds)
    path = ds / entries[0]["shard"]
    rows = pq.read_table(path).to_pylist()
    edit(rows[0])
    if rehash:
        rows[0]["row_sha256"] = row_content_hash(rows[0])
    pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema()), path)
    entries[0].update(sha256=sha256_file(path), bytes=path.stat().st_size)
    _write_manifest(ds, entries)


def test_an_edited_row_is_refused_when_read(ds: Path) -> None:
    _rewrite_first_row(ds, lambda r: r.update(answer="Target ID: 99"), rehash=False)
    assert any("row_sha256" in p for p in verify_dataset(ds, decode_frames=False).problems)
    refs = index_rows([str(ds)], "raw", full_check=True)  # manifest and hashes were fixed up
    with pytest.raises(ShardCheckError, match="does not match row_sha256"):
        load_sample(next(r for r in refs if r.shard_path.endswith("00000.parquet")), 4)


def test_a_prompt_over_the_limit_is_refused_visibly(ds: Path) -> None:
    long = "Who walks? " * 10_000  # 110 kB, about 75k tokens
    _rewrite_first_row(ds, lambda r: r.update(user_prompt=r["user_prompt"] + long), rehash=True)
    refs = index_rows([str(ds)], "raw", full_check=True)
    ref = next(r for r in refs if r.shard_path.endswith("00000.parquet"))
    with pytest.raises(ValueError, match=f"above the {MAX_PROMPT_CHARS} limit"):
        load_sample(ref, 4)
    assert load_sample(ref, 4, max_prompt_chars=200_000).user_prompt.endswith("Who walks? ")


def test_export_of_a_sample_id_with_dotdot_stays_inside_the_folder(tmp_path: Path, media_dir: Path) -> None:
    records = [{**good_records()[4], "id": "../../evil"}]
    ds = render_small(tmp_path / "r", media_dir, records)
    out = tmp_path / "export"
    result = export_dataset(ds, out, to="verl")
    files = [p for p in (tmp_path).rglob("*.jpg")]
    assert result.frames > 0 and len(files) == result.frames
    assert all((out / "frames").resolve() in p.resolve().parents for p in files)
    assert pq.read_table(result.path).num_rows == 2
