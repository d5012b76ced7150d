"""Writing shards: a sample's rows become one row group, row groups fill size-bounded shards, and a shard is listed
in the manifest only once it is complete on disk (`ShardWriter`; `PartShardWriter` for a distributed worker)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vcprep.dataset.files import append_jsonl, atomic_write_text, fsync_dir
from vcprep.dataset.lock import check_folder_layout, lock_folder
from vcprep.dataset.manifest import merge_parts, part_entry_problem, repair_manifest
from vcshard.hashing import row_content_hash, sha256_file
from vcshard.layout import (
    ERRORS_PATH,
    INFO_PATH,
    MANIFEST_PARTS_DIR,
    MANIFEST_PATH,
    PART_SHARD_TEMPLATE,
    RECIPE_PATH,
    SHARD_TEMPLATE,
    VIDEO_STATS_PARTS_DIR,
    VIDEO_STATS_PATH,
)
from vcshard.manifest import load_manifest, manifest_entry_problem, read_jsonl
from vcshard.schema import HASH_COLUMN, RowSchemaError, arrow_schema, check_row_columns, column_type_problem

DEFAULT_MAX_SHARD_BYTES = 500_000_000
DEFAULT_MAX_ROW_GROUP_BYTES = 100_000_000
MAX_ROW_BYTES = 1 << 30
"""One row above this is refused: Arrow's 32-bit offsets cap one array at 2 GiB, and a row of
encoded frames that large means `max_side`/`max_frames` are wrong for the video."""


class SampleTooLargeError(ValueError):
    """A sample whose single row cannot be stored safely (see MAX_ROW_BYTES)."""


def sample_table(
    sample_id: str, rows: list[dict[str, Any]], schema: pa.Schema | None = None, *, max_row_bytes: int = MAX_ROW_BYTES,
) -> pa.Table:
    """The rows of one sample as a table with `row_sha256` filled in, each row first checked against the schema
    (RowSchemaError names an unknown, missing or mistyped column).

    Each row is its own chunk, so no array ever holds more than one row's bytes (Arrow's
    2 GiB limit per array then only bounds a single row, which MAX_ROW_BYTES guards).
    """
    schema = schema or arrow_schema()
    chunks = []
    for row in rows:
        where = f"sample {sample_id} variant {row.get('variant')}"
        check_row_columns(row, where)
        row = {**row, HASH_COLUMN: None}
        try:
            one = pa.Table.from_pylist([row], schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            raise RowSchemaError(f"{where}: {column_type_problem(row) or exc}") from exc
        if one.nbytes > max_row_bytes:
            raise SampleTooLargeError(
                f"sample {sample_id} variant {row.get('variant')}: one row is {one.nbytes / 2**20:.0f} MiB, "
                f"above the {max_row_bytes / 2**20:.0f} MiB limit; lower output.max_side or sampling.max_frames"
            )
        digest = row_content_hash(one.to_pylist()[0])
        i = schema.get_field_index(HASH_COLUMN)
        chunks.append(one.set_column(i, schema.field(i), pa.array([digest], pa.string())))
    return pa.concat_tables(chunks)


class ShardWriter:
    """Writes samples into size-bounded shards; all variants of a sample share one row group.

    Samples are gathered into row groups of at most `max_row_group_bytes` (a single larger
    sample gets a row group of its own) and shards are closed before they would pass
    `max_shard_bytes` or `samples_per_shard`. A shard is written under a `.tmp` name, fsynced,
    renamed, and only then listed in the manifest. `recover` (on open, unless `recover=False`)
    removes the leftovers of an interrupted run (tmp files, shards missing from the manifest, a torn
    manifest line) and merges workers' parts, and `done` lists samples already written, so a resumed
    run neither duplicates nor loses a sample. A render opens with `recover=False`, checks the
    folder is its recipe's (`claim_folder`), and only then recovers: nothing in a folder changes
    before it is claimed.
    """

    def __init__(
        self, root: str | Path, *, max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
        samples_per_shard: int = 1000, max_row_group_bytes: int = DEFAULT_MAX_ROW_GROUP_BYTES,
        max_row_bytes: int = MAX_ROW_BYTES, recover: bool = True,
    ) -> None:
        self.root = Path(root)
        self.max_shard_bytes = max_shard_bytes
        self.samples_per_shard = samples_per_shard
        self.max_row_group_bytes = max_row_group_bytes
        self.max_row_bytes = max_row_bytes
        self.schema = arrow_schema()
        self._lock = lock_folder(self.root)  # refuses linked data/ or meta/ folders before creating anything
        self.done: set[str] = set()
        self._next_index = 0
        if recover:
            self.recover()
        self.manifest_path = self.root / MANIFEST_PATH
        self._writer: pq.ParquetWriter | None = None
        self._tmp: Path | None = None
        self._final: Path | None = None
        self._sample_ids: list[str] = []
        self._rows = 0
        self._row_groups = 0
        self._bytes = 0
        self._group: list[pa.Table] = []
        self._group_bytes = 0

    def recover(self) -> None:
        """Merge workers' parts, repair the manifest, delete unlisted shards and temp files; fill `done`.

        Only for the folder's owner, under the lock, after the folder was claimed (see the class)."""
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        merge_parts(self.root)  # a killed distributed run's committed shards count as done
        manifest = repair_manifest(self.root)
        listed = {e["shard"] for e in manifest}
        for stray in (self.root / "data").iterdir():
            rel = f"data/{stray.name}"
            if stray.name.endswith(".tmp") or (stray.suffix == ".parquet" and rel not in listed):
                stray.unlink()  # a link is removed itself, never its target
        self.done = {s for e in manifest for s in e["sample_ids"]}
        self._next_index = 1 + max((_shard_number(e["shard"]) for e in manifest), default=-1)

    def write_sample(self, sample_id: str, rows: list[dict[str, Any]]) -> None:
        """Add one sample (all its variant rows). Raises SampleTooLargeError for an oversized row."""
        if sample_id in self.done or sample_id in self._sample_ids:
            return
        table = sample_table(sample_id, rows, self.schema, max_row_bytes=self.max_row_bytes)
        if self._sample_ids and self._bytes + table.nbytes > self.max_shard_bytes:
            self.close_shard()
        if self._group and self._group_bytes + table.nbytes > self.max_row_group_bytes:
            self._flush_group()
        self._group.append(table)
        self._group_bytes += table.nbytes
        self._sample_ids.append(sample_id)
        self._rows += table.num_rows
        self._bytes += table.nbytes
        if self._bytes >= self.max_shard_bytes or len(self._sample_ids) >= self.samples_per_shard:
            self.close_shard()

    def _flush_group(self) -> None:
        if not self._group:
            return
        if self._writer is None:
            self._final = self.root / self._shard_name(self._next_index)
            self._tmp = self._final.with_name(self._final.name + ".tmp")
            self._writer = pq.ParquetWriter(
                self._tmp, self.schema, compression="zstd", write_page_index=True,
                write_statistics=["sample_id", "variant"],
            )
        table = pa.concat_tables(self._group)
        if table.nbytes < MAX_ROW_BYTES:
            # one contiguous chunk lets Parquet's dictionary store a frame repeated across
            # variants once (per-row chunks defeat it: ~15% larger demo shards)
            table = table.combine_chunks()
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._row_groups += 1
        self._group, self._group_bytes = [], 0

    def close_shard(self) -> None:
        self._flush_group()
        if self._writer is None:
            return
        assert self._tmp is not None and self._final is not None  # set together with the writer
        self._writer.close()
        with open(self._tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(self._tmp, self._final)
        fsync_dir(self._final.parent)
        rel = self._final.relative_to(self.root).as_posix()
        append_jsonl(self.manifest_path, {
            "shard": rel, "sample_ids": self._sample_ids, "num_rows": self._rows,
            "num_row_groups": self._row_groups,
            "sha256": sha256_file(self._final), "bytes": self._final.stat().st_size,
        })
        self.done.update(self._sample_ids)
        self._next_index += 1
        self._writer, self._tmp, self._final = None, None, None
        self._sample_ids, self._rows, self._bytes, self._row_groups = [], 0, 0, 0

    def discard_all(self) -> None:
        """Remove every shard and the per-run metadata, keeping the lock: the folder is redone from scratch
        (`vcprep render --overwrite` on a folder that holds another recipe's dataset)."""
        check_folder_layout(self.root)
        for entry in load_manifest(self.root):
            if manifest_entry_problem(entry) is None:
                (self.root / entry["shard"]).unlink(missing_ok=True)  # under data/ (checked), a link itself
        for rel in (MANIFEST_PATH, INFO_PATH, ERRORS_PATH, VIDEO_STATS_PATH, RECIPE_PATH, "README.md"):
            (self.root / rel).unlink(missing_ok=True)
        for folder in (MANIFEST_PARTS_DIR, VIDEO_STATS_PARTS_DIR):  # the other recipe's workers' parts
            for part in (self.root / folder).glob("*.jsonl"):
                part.unlink()
        repair_manifest(self.root)
        self.done = set()
        self._next_index = 0

    def abort(self) -> None:
        """Drop the shard being written and release the lock, committing nothing.

        After a failed write (disk full, permissions) the open shard may be half written: it must
        never be renamed or listed. Samples already committed stay; a re-run redoes the rest.
        """
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._writer.close()
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
        self._writer, self._tmp, self._final, self._group = None, None, None, []
        self._sample_ids, self._rows, self._bytes, self._row_groups, self._group_bytes = [], 0, 0, 0, 0
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _shard_name(self, index: int) -> str:
        return SHARD_TEMPLATE.format(index=index)

    def close(self) -> None:
        self.close_shard()
        if self._lock is not None:
            self._lock.close()  # closing the handle releases the lock
            self._lock = None


def _shard_number(rel: str) -> int:
    """The running number of a shard: the last `-` field of `shard-00003` or `shard-<worker>-00003`."""
    return int(Path(rel).stem.rsplit("-", 1)[1])


class PartShardWriter(ShardWriter):
    """A distributed worker's writer: its own shard names and manifest part, the same atomic commit.

    Shards are `data/shard-<worker>-NNNNN.parquet`, written under `.tmp`, fsynced, renamed, then
    appended to `meta/manifest.parts/<worker>.jsonl`. The driver holds the folder lock and
    merges the parts (`merge_parts`); a worker never touches another's files. A worker restarted
    under the same name (its process was killed) skips the samples its part already lists and
    drops its own unfinished `.tmp`, so a retried video duplicates nothing.
    """

    def __init__(
        self, root: str | Path, worker: str, *, done: set[str], max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
        samples_per_shard: int = 1000, max_row_group_bytes: int = DEFAULT_MAX_ROW_GROUP_BYTES,
        max_row_bytes: int = MAX_ROW_BYTES,
    ) -> None:
        if not worker or "/" in worker:
            raise ValueError(f"worker name must be a plain non-empty name, got {worker!r}")
        self.root = Path(root)
        self.worker = worker
        self.max_shard_bytes = max_shard_bytes
        self.samples_per_shard = samples_per_shard
        self.max_row_group_bytes = max_row_group_bytes
        self.max_row_bytes = max_row_bytes
        self.schema = arrow_schema()
        self._lock = None
        self.manifest_path = self.root / MANIFEST_PARTS_DIR / f"{worker}.jsonl"
        check_folder_layout(self.root)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        mine = [e for e in read_jsonl(self.manifest_path) if part_entry_problem(self.root, worker, e) is None]
        atomic_write_text(self.manifest_path, "".join(json.dumps(e, sort_keys=True) + "\n" for e in mine))
        for stray in (self.root / "data").glob(f"shard-{worker}-*.parquet.tmp"):
            stray.unlink()
        self.done = set(done) | {s for e in mine for s in e["sample_ids"]}
        self._next_index = 1 + max((_shard_number(e["shard"]) for e in mine), default=-1)
        self._writer = None
        self._tmp = None
        self._final = None
        self._sample_ids = []
        self._rows = 0
        self._row_groups = 0
        self._bytes = 0
        self._group = []
        self._group_bytes = 0

    def _shard_name(self, index: int) -> str:
        return PART_SHARD_TEMPLATE.format(worker=self.worker, index=index)
