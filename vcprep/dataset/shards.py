"""Shard format v1: the public contract between vcprep and every trainer.

Layout of a dataset folder (paths are templates, as in LeRobot):

    data/shard-00000.parquet   rows: one per (sample, variant); one row group per sample
    meta/info.json             format version, features, counts, configuration
    meta/manifest.jsonl        one line per completed shard: its samples and sha256
    meta/errors.jsonl          every input that failed, with file, sample and reason
    meta/video_stats.jsonl     per-video tracking statistics (kept across resumed runs)
    meta/recipe.json           the hash of the recipe the folder's rows come from (a resume must match it)
    README.md                  the generated data card

`data_cards/SCHEMA.md` documents every column; `FORMAT_VERSION` is bumped on any change
(minor: columns added; major: anything a reader relies on changed or removed).
1.1 added `row_sha256`, a content hash of each row that `vcprep verify` recomputes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

FORMAT_VERSION = "1.1"
DEFAULT_MAX_SHARD_BYTES = 500_000_000
DEFAULT_MAX_ROW_GROUP_BYTES = 100_000_000
MAX_ROW_BYTES = 1 << 30
"""One row above this is refused: Arrow's 32-bit offsets cap one array at 2 GiB, and a row of
encoded frames that large means `max_side`/`max_frames` are wrong for the video."""
SHARD_TEMPLATE = "data/shard-{index:05d}.parquet"
INFO_PATH = "meta/info.json"
MANIFEST_PATH = "meta/manifest.jsonl"
ERRORS_PATH = "meta/errors.jsonl"
VIDEO_STATS_PATH = "meta/video_stats.jsonl"
RECIPE_PATH = "meta/recipe.json"
MANIFEST_PARTS_DIR = "meta/manifest.parts"
"""Distributed runs: each worker appends its committed shards to `<worker>.jsonl` here; the driver
merges the parts into MANIFEST_PATH (at the end, or when the next run opens the folder)."""
VIDEO_STATS_PARTS_DIR = "meta/video_stats.parts"
PART_SHARD_TEMPLATE = "data/shard-{worker}-{index:05d}.parquet"

_IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
_BOX = pa.list_(pa.float32())

# (name, arrow type, Hugging Face feature) in column order.
_COLUMNS: list[tuple[str, pa.DataType, Any]] = [
    ("sample_id", pa.string(), "string"),
    ("variant", pa.string(), "string"),
    ("source", pa.string(), "string"),
    ("task", pa.string(), "string"),
    ("video_path", pa.string(), "string"),
    ("video_fps", pa.float64(), "float64"),
    ("video_duration_seconds", pa.float64(), "float64"),
    ("source_width", pa.int32(), "int32"),
    ("source_height", pa.int32(), "int32"),
    ("frame_width", pa.int32(), "int32"),
    ("frame_height", pa.int32(), "int32"),
    ("question", pa.string(), "string"),
    ("hint", pa.string(), "string"),
    ("system_prompt", pa.string(), "string"),
    ("user_prompt", pa.string(), "string"),
    ("answer", pa.string(), "string"),
    ("target_id", pa.int32(), "int32"),
    ("gt_span_seconds", pa.list_(pa.float64()), ["float64"]),
    ("gt_frame_indices", pa.list_(pa.int64()), ["int64"]),
    ("gt_pts_seconds", pa.list_(pa.float64()), ["float64"]),
    ("gt_boxes", pa.list_(_BOX), [["float32"]]),
    ("object_names", pa.list_(pa.string()), ["string"]),
    ("options", pa.list_(pa.string()), ["string"]),
    ("frames", pa.list_(_IMAGE), ["Image"]),
    ("frame_indices", pa.list_(pa.int64()), ["int64"]),
    ("pts_seconds", pa.list_(pa.float64()), ["float64"]),
    ("key_frame", pa.list_(pa.bool_()), ["bool"]),
    ("frame_track_ids", pa.list_(pa.list_(pa.int32())), [["int32"]]),
    ("frame_track_boxes", pa.list_(pa.list_(_BOX)), [[["float32"]]]),
    ("tube_frame_indices", pa.list_(pa.int64()), ["int64"]),
    ("tube_pts_seconds", pa.list_(pa.float64()), ["float64"]),
    ("tube_track_ids", pa.list_(pa.int32()), ["int32"]),
    ("tube_boxes", pa.list_(_BOX), [["float32"]]),
    ("oracle_tiou", pa.float64(), "float64"),
    ("oracle_viou", pa.float64(), "float64"),
    ("meta", pa.string(), "string"),
    ("row_sha256", pa.string(), "string"),
]


def _hf_feature(spec: Any) -> dict[str, Any]:
    if isinstance(spec, list):
        return {"feature": _hf_feature(spec[0]), "_type": "List"}
    if spec == "Image":
        return {"_type": "Image"}
    return {"dtype": spec, "_type": "Value"}


def hf_features() -> dict[str, Any]:
    """The Hugging Face `datasets` features of the schema (frames decode as PIL images)."""
    return {name: _hf_feature(spec) for name, _, spec in _COLUMNS}


def arrow_schema() -> pa.Schema:
    meta = {
        b"huggingface": json.dumps({"info": {"features": hf_features()}}).encode(),
        b"vcprep_format_version": FORMAT_VERSION.encode(),
    }
    return pa.schema([pa.field(n, t) for n, t, _ in _COLUMNS], metadata=meta)


COLUMN_NAMES = [n for n, _, _ in _COLUMNS]
HASH_COLUMN = "row_sha256"


def _hash_default(value: Any) -> str:
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    raise TypeError(f"cannot hash a {type(value).__name__}")


def row_content_hash(row: dict[str, Any]) -> str:
    """sha256 of every column but `row_sha256`, in a canonical JSON form (bytes by their sha256).

    Computed from the row as Arrow returns it, so writer and verifier hash the same values
    (float32 columns round-trip exactly; key order and float formatting are fixed).
    """
    body = {k: v for k, v in row.items() if k != HASH_COLUMN}
    text = json.dumps(body, sort_keys=True, default=_hash_default, allow_nan=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class DatasetLockedError(RuntimeError):
    """Another process is writing the same dataset folder."""


def _lock_folder(root: Path) -> Any:
    """Hold an exclusive lock on ROOT/meta/.lock for this writer's life.

    Two renders into one folder would delete each other's shards as strays. The kernel drops
    the lock when the process dies, so a kill -9 never leaves the folder locked.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        return None
    check_folder_layout(root)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    fd = os.open(root / "meta" / ".lock", os.O_WRONLY | os.O_CREAT | _NOFOLLOW, 0o644)  # never through a link
    handle = os.fdopen(fd, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatasetLockedError(f"{root}: another `vcprep render` is writing this folder") from None
    return handle


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

_FOLDERS = ("data", "meta", MANIFEST_PARTS_DIR, VIDEO_STATS_PARTS_DIR)
"""The dataset's own folders: a writer creates, lists and deletes files in them, so none may be a link."""


def check_folder_layout(root: Path) -> None:
    """Refuse a dataset folder whose data/ or meta/ folders are symbolic links (DatasetFormatError).

    A writer deletes unlisted shards in data/ and rewrites files in meta/: through a link it would
    delete or overwrite files of another folder. Checked before anything in the folder changes."""
    for rel in _FOLDERS:
        if (Path(root) / rel).is_symlink():
            raise DatasetFormatError(f"{Path(root) / rel}: is a symbolic link; a dataset's folders must be its own")


class SampleTooLargeError(ValueError):
    """A sample whose single row cannot be stored safely (see MAX_ROW_BYTES)."""


def sample_table(
    sample_id: str, rows: list[dict[str, Any]], schema: pa.Schema | None = None, *, max_row_bytes: int = MAX_ROW_BYTES,
) -> pa.Table:
    """The rows of one sample as a table with `row_sha256` filled in.

    Each row is its own chunk, so no array ever holds more than one row's bytes (Arrow's
    2 GiB limit per array then only bounds a single row, which MAX_ROW_BYTES guards).
    """
    schema = schema or arrow_schema()
    chunks = []
    for row in rows:
        row = {**row, HASH_COLUMN: None}
        one = pa.Table.from_pylist([row], schema=schema)
        if one.nbytes > max_row_bytes:
            raise SampleTooLargeError(
                f"sample {sample_id} variant {row.get('variant')}: one row is {one.nbytes / 2**20:.0f} MiB, "
                f"above the {max_row_bytes / 2**20:.0f} MiB limit; lower output.max_side or sampling.max_frames"
            )
        digest = row_content_hash(one.to_pylist()[0])
        i = schema.get_field_index(HASH_COLUMN)
        chunks.append(one.set_column(i, schema.field(i), pa.array([digest], pa.string())))
    return pa.concat_tables(chunks)


@dataclass
class DatasetInfo:
    """meta/info.json read into a dataclass; unknown keys are kept, not rejected."""

    format_version: str = FORMAT_VERSION
    name: str = ""
    created_by: str = ""
    num_samples: int = 0
    num_rows: int = 0
    num_frames: int = 0
    num_shards: int = 0
    num_errors: int = 0
    variants: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    config_hash: str = ""
    features: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class DatasetFormatError(RuntimeError):
    """meta/info.json or the manifest is not what the format says (wrong types, unparsable, unsafe paths)."""


class FormatVersionError(DatasetFormatError):
    pass


def check_version(version: str) -> None:
    try:
        major = int(str(version).split(".")[0])
    except ValueError:
        raise DatasetFormatError(f"format_version {version!r} is not MAJOR.MINOR") from None
    if major > int(FORMAT_VERSION.split(".")[0]):
        raise FormatVersionError(
            f"dataset format {version} is newer than this reader ({FORMAT_VERSION}); upgrade vcprep"
        )


def write_info(root: Path, info: DatasetInfo) -> None:
    data = asdict(info)
    data.update(data.pop("extra"))
    write_text_atomic(Path(root) / INFO_PATH, json.dumps(data, indent=2, sort_keys=True))


def load_info(root: str | Path) -> DatasetInfo:
    path = Path(root) / INFO_PATH
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a vcprep dataset (no {INFO_PATH})")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise DatasetFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetFormatError(f"{path}: expected a JSON object, got {type(data).__name__}")
    check_version(data.get("format_version", "0"))
    known = set(DatasetInfo.__dataclass_fields__) - {"extra"}
    for name, expected in _INFO_TYPES.items():
        value = data.get(name)
        if value is not None and (not isinstance(value, expected) or (isinstance(value, bool) and expected is int)):
            found = f"{type(value).__name__} {value!r}"
            raise DatasetFormatError(f"{path}: {name} is {found}, expected {expected.__name__}")
    info = DatasetInfo(**{k: v for k, v in data.items() if k in known})
    info.extra = {k: v for k, v in data.items() if k not in known}
    return info


_INFO_TYPES: dict[str, type] = {
    "format_version": str, "name": str, "num_samples": int, "num_rows": int, "num_frames": int,
    "num_shards": int, "num_errors": int, "variants": list, "config": dict, "config_hash": str,
    "features": dict, "stats": dict, "provenance": dict,
}


def manifest_entry_problem(entry: Any) -> str | None:
    """Why a manifest line cannot be trusted, or None.

    The shard must be a plain file name under `data/`: a manifest is data from a shared folder, and
    a `../` or absolute path would make verify, resume or a trainer read a file outside the dataset.
    """
    if not isinstance(entry, dict):
        return f"entry is {type(entry).__name__}, expected an object"
    shard = entry.get("shard")
    if not isinstance(shard, str) or not shard.startswith("data/") or "/" in shard[5:] or shard[5:] in ("", ".", ".."):
        return f"shard {shard!r} is not a file directly under data/"
    if not shard.endswith(".parquet"):
        return f"shard {shard!r} is not a .parquet file"
    ids = entry.get("sample_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return "sample_ids is not a list of strings"
    for key, kind in (("num_rows", int), ("bytes", int), ("num_row_groups", int), ("sha256", str)):
        value = entry.get(key)
        if key in entry and (not isinstance(value, kind) or isinstance(value, bool)):
            return f"{key} is {type(value).__name__} {value!r}, expected {kind.__name__}"
    return None


def shard_file_problem(root: Path, entry: Any) -> str | None:
    """Why a manifest entry's shard cannot be opened as the dataset's own file, or None.

    The one check every reader makes before opening a shard (verify, export, preview, the card, a
    resume, merging workers' parts): the entry is well formed (`manifest_entry_problem`), data/ is
    the folder's own directory, and the shard is a regular file there, not a link to anywhere else."""
    problem = manifest_entry_problem(entry)
    if problem:
        return problem
    rel = entry["shard"]
    if (Path(root) / "data").is_symlink():
        return f"{rel}: data/ is a symbolic link, not a folder of the dataset"
    path = Path(root) / rel
    if path.is_symlink():  # it could point anywhere; a dataset's shards are its own files
        return f"{rel}: is a symbolic link, not a file of the dataset"
    if not path.is_file():
        return f"{rel}: listed in the manifest but missing"
    return None


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a fresh O_EXCL temp file beside `path` (a planted link at a temp name is never
    followed), then rename over `path` (which replaces a link there, never its target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_jsonl(path: Path) -> list[Any]:
    """The records of an append-only JSON-lines file of the dataset; a torn line (killed mid-append) is skipped."""
    records = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except (json.JSONDecodeError, RecursionError):
                continue
    return records


def load_manifest(root: str | Path) -> list[dict[str, Any]]:
    """Completed shards; a torn last line (killed mid-append) is ignored."""
    return read_jsonl(Path(root) / MANIFEST_PATH)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line and fsync, so a completed line survives a kill or power loss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o644)  # a planted link is refused
    with os.fdopen(fd, "a") as fh:
        fh.write(json.dumps(record, default=_json_default) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def repair_manifest(root: Path) -> list[dict[str, Any]]:
    """Keep only complete manifest lines whose shard exists, and rewrite the file atomically.

    A kill during an append leaves a torn last line without a newline; the next append would
    glue onto it and be lost, so the manifest is rewritten clean before anything is added.
    """
    entries = [e for e in load_manifest(root) if shard_file_problem(root, e) is None]
    path = root / MANIFEST_PATH
    # written even when empty: an empty manifest is a valid (empty) dataset
    write_text_atomic(path, "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
    return entries


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
        self._lock = _lock_folder(self.root)  # refuses linked data/ or meta/ folders before creating anything
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
        _fsync_dir(self._final.parent)
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
                (self.root / entry["shard"]).unlink(missing_ok=True)
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
        mine = [e for e in _load_jsonl(self.manifest_path)
                if _part_entry_problem(self.root, worker, e) is None]
        write_text_atomic(self.manifest_path, "".join(json.dumps(e, sort_keys=True) + "\n" for e in mine))
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


def _load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Complete JSON lines of a file; a torn last line (killed mid-append) is skipped."""
    out = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def _part_entry_problem(root: Path, worker: str, entry: Any) -> str | None:
    """Why a line of worker `worker`'s manifest part cannot be merged: the checks of a manifest entry
    (`shard_file_problem`), and the shard must be one of that worker's own (`data/shard-<worker>-N.parquet`)."""
    problem = shard_file_problem(root, entry)
    if problem:
        return problem
    name = entry["shard"][len("data/"):]
    prefix = f"shard-{worker}-"
    if not (name.startswith(prefix) and name[len(prefix):-len(".parquet")].isdigit()):
        return f"shard {entry['shard']!r} is not a shard of worker {worker!r}"
    if "bytes" not in entry:
        return "bytes is missing"
    return None


def merge_parts(root: str | Path) -> int:
    """Fold the workers' manifest and video-stats parts into the dataset's own files; returns the
    number of shards added. Call it only while holding the folder lock (the driver).

    A part entry is added when it passes the checks of a manifest entry and names a shard of its
    own worker (`_part_entry_problem`; any other line is ignored and its file left alone), the shard
    exists at the listed size and none of its samples is listed yet; a shard whose samples are
    already listed is a duplicate and is deleted. The
    manifest is rewritten atomically before any part is removed, so a kill at any point leaves
    either the part or the merged entry, never neither, and merging twice adds nothing.
    """
    root = Path(root)
    check_folder_layout(root)
    parts = sorted((root / MANIFEST_PARTS_DIR).glob("*.jsonl"))
    stats_parts = sorted((root / VIDEO_STATS_PARTS_DIR).glob("*.jsonl"))
    if not parts and not stats_parts:
        return 0
    manifest = load_manifest(root)
    shards = {e["shard"] for e in manifest}
    samples = {s for e in manifest for s in e["sample_ids"]}
    added = 0
    for part in parts:
        for entry in _load_jsonl(part):
            if _part_entry_problem(root, part.stem, entry) is not None:
                continue
            path = root / entry["shard"]
            if entry["shard"] in shards or path.stat().st_size != entry["bytes"]:
                continue
            if samples.intersection(entry["sample_ids"]):
                path.unlink()
                continue
            manifest.append(entry)
            shards.add(entry["shard"])
            samples.update(entry["sample_ids"])
            added += 1
    if added:
        write_text_atomic(root / MANIFEST_PATH, "".join(json.dumps(e, sort_keys=True) + "\n" for e in manifest))
        _fsync_dir(root / "meta")
    for part in parts:
        part.unlink()
    for part in stats_parts:  # stats records are keyed by video; a record merged twice is harmless
        for record in _load_jsonl(part):
            append_jsonl(root / VIDEO_STATS_PATH, record)
        part.unlink()
    return added


def shard_paths(root: str | Path) -> list[Path]:
    """The dataset's shard files, after `shard_file_problem` on every manifest entry (before any is opened).

    Raises DatasetFormatError naming the first entry `vcprep verify` would reject, so export, preview
    and the card never read a file outside the folder."""
    root = Path(root)
    entries = load_manifest(root)
    for n, entry in enumerate(entries, 1):
        problem = shard_file_problem(root, entry)
        if problem:
            raise DatasetFormatError(f"{root / MANIFEST_PATH}: entry {n}: {problem}")
    return [root / e["shard"] for e in entries]


def iter_rows(
    root: str | Path, *, columns: list[str] | None = None, variants: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Rows of a dataset folder as Python dicts, shard by shard, row group by row group."""
    load_info(root)  # refuses a newer major version
    for path in shard_paths(root):
        pf = pq.ParquetFile(path)
        for rg in range(pf.num_row_groups):
            table = pf.read_row_group(rg, columns=columns)
            for row in table.to_pylist():
                if variants is None or row.get("variant") in variants:
                    yield row
