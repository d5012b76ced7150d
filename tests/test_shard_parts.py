"""Workers' own shards and manifest parts: merged once, duplicates dropped, unfinished work redone."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcprep.dataset.manifest import merge_parts
from vcprep.dataset.writers import PartShardWriter, ShardWriter
from vcshard.layout import MANIFEST_PARTS_DIR
from vcshard.manifest import load_manifest
from vcshard.schema import COLUMN_NAMES, HASH_COLUMN


def make_rows(sample_id: str) -> list[dict]:
    """Two variant rows of one sample: every column of the schema (the writer refuses a row without one), null where
    these tests need no value."""
    empty = {name: None for name in COLUMN_NAMES if name != HASH_COLUMN}
    return [{**empty, "sample_id": sample_id, "variant": v, "question": f"where is {sample_id}?"}
            for v in ("raw", "boxes")]


def _ids(root: Path) -> list[str]:
    return sorted(s for e in load_manifest(root) for s in e["sample_ids"])


def test_parts_merge_into_the_manifest_once_without_duplicates(tmp_path: Path) -> None:
    a = PartShardWriter(tmp_path, "run1w0", done=set(), samples_per_shard=1)
    b = PartShardWriter(tmp_path, "run1w1", done=set(), samples_per_shard=1)
    a.write_sample("s1", make_rows("s1"))
    a.write_sample("s2", make_rows("s2"))
    b.write_sample("s2", make_rows("s2"))  # a video retried on another worker: s2 twice
    b.write_sample("s3", make_rows("s3"))
    a.close()
    b.close()
    assert len(list((tmp_path / "data").glob("*.parquet"))) == 4
    assert merge_parts(tmp_path) == 3
    assert _ids(tmp_path) == ["s1", "s2", "s3"]
    assert len(list((tmp_path / "data").glob("*.parquet"))) == 3  # the duplicate shard is deleted
    assert not list((tmp_path / MANIFEST_PARTS_DIR).glob("*.jsonl"))
    assert merge_parts(tmp_path) == 0 and _ids(tmp_path) == ["s1", "s2", "s3"]


def test_a_killed_worker_leaves_committed_shards_and_nothing_else(tmp_path: Path) -> None:
    w = PartShardWriter(tmp_path, "run2w0", done=set(), samples_per_shard=2)
    for sid in ("s1", "s2", "s3"):
        w.write_sample(sid, make_rows(sid))
    w._flush_group()  # s3 is half-written under .tmp when the process dies (no close)
    assert list((tmp_path / "data").glob("*.tmp"))
    # the same worker restarted by Ray skips what its part lists, and drops its own .tmp
    again = PartShardWriter(tmp_path, "run2w0", done=set(), samples_per_shard=2)
    assert again.done == {"s1", "s2"} and not list((tmp_path / "data").glob("*.tmp"))
    # the driver of the next run (ShardWriter) merges the part: s1, s2 done; s3 to redo
    driver = ShardWriter(tmp_path)
    assert driver.done == {"s1", "s2"}
    driver.close()


def test_worker_name_must_be_a_plain_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="worker name"):
        PartShardWriter(tmp_path, "../x", done=set())
