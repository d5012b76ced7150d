"""`vcprep verify`: check a dataset folder against the shard contract before anyone trains on it.

Shards travel between teams and sit on shared disks for months; a truncated copy, a hand-edited
row or a half-finished render must be caught here, with the reason, not by a trainer at step
40 000. Every check reads the files themselves; nothing is trusted from the run that wrote them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vcprep.dataset.info import load_info
from vcshard.frames import frame_problem, recipe_image_format
from vcshard.hashing import row_content_hash
from vcshard.layout import INFO_PATH, MANIFEST_PATH
from vcshard.manifest import check_manifest, shard_file_problem, shard_file_problems
from vcshard.schema import HASH_COLUMN, DatasetFormatError, check_version, column_problems

# Per-frame lists that must all have one entry per stored frame.
_PER_FRAME = ("frame_indices", "pts_seconds", "key_frame", "frame_track_ids", "frame_track_boxes")
_PER_TUBE = ("tube_pts_seconds", "tube_track_ids", "tube_boxes")


@dataclass
class VerifyReport:
    """What `verify` found; `problems` empty means the dataset honours the contract."""

    root: str
    format_version: str = ""
    shards: int = 0
    samples: int = 0
    rows: int = 0
    frames_decoded: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = (f"{self.root}: format {self.format_version or '?'}, {self.shards} shards, {self.samples} samples, "
                f"{self.rows} rows, {self.frames_decoded} frames decoded")
        if self.ok:
            return f"{head}\nOK"
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = f"\n  ... {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        return f"{head}\nFAILED: {len(self.problems)} problem(s)\n{shown}{more}"


def _check_schema(rel: str, schema: pa.Schema, report: VerifyReport) -> bool:
    meta = schema.metadata or {}
    version = meta.get(b"vcprep_format_version", b"").decode()
    if not version:
        report.problems.append(f"{rel}: no vcprep_format_version in the Parquet schema metadata")
    else:
        try:
            check_version(version)
        except DatasetFormatError as exc:
            report.problems.append(f"{rel}: {exc}")
            return False
    problems = column_problems(schema)  # the check vctrain makes too
    report.problems.extend(f"{rel}: {p}" for p in problems)
    return not problems


def _decode_ok(data: bytes, width: int, height: int) -> str | None:
    """Decode a frame whose header `frame_problem` accepted (so at most the row's size, under the cap)."""
    import cv2  # here, not at import: `vcprep view` opens datasets through this module and decodes nothing

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return "frame bytes do not decode as an image"
    if image.shape[1] != width or image.shape[0] != height:
        return f"frame is {image.shape[1]}x{image.shape[0]}, row says {width}x{height}"
    return None


def _check_row(where: str, row: dict[str, Any], report: VerifyReport, decode_frames: bool,
               image_format: str | None) -> None:
    if row.get(HASH_COLUMN) != row_content_hash(row):
        report.problems.append(f"{where}: content does not match row_sha256 (the row was changed after writing)")
    n = len(row["frames"] or [])
    for name in _PER_FRAME:
        if len(row[name] or []) != n:
            report.problems.append(f"{where}: {name} has {len(row[name] or [])} entries for {n} frames")
    m = len(row["tube_frame_indices"] or [])
    for name in _PER_TUBE:
        if len(row[name] or []) != m:
            report.problems.append(f"{where}: {name} has {len(row[name] or [])} entries, tube has {m}")
    if len(row["gt_boxes"] or []) != len(row["gt_frame_indices"] or []):
        report.problems.append(f"{where}: gt_boxes and gt_frame_indices differ in length")
    for i, frame in enumerate(row["frames"] or []):
        # the header first, always: format and declared size, before any decoder sees the bytes
        reason = frame_problem(frame["bytes"], row["frame_width"], row["frame_height"], image_format)
        if reason is None and decode_frames:
            reason = _decode_ok(frame["bytes"], row["frame_width"], row["frame_height"])
        if reason:
            report.problems.append(f"{where}: frame {i}: {reason}")
        elif decode_frames:
            report.frames_decoded += 1


def open_shard(root: Path, entry: dict[str, Any], report: VerifyReport, *, hash_file: bool = True,
               ) -> pq.ParquetFile | None:
    """The shard's file checked against its manifest entry (presence, size, sha256, schema, row count);
    None when its rows cannot be checked. `hash_file=False` skips the sha256 (a viewer opening a large
    dataset checks each row's own hash when it reads the row instead)."""
    rel = entry["shard"]
    path = root / rel
    # vcshard's checks, the ones vctrain, export, preview and a resume make: the folder's own file, size, sha256
    report.problems.extend(shard_file_problems(root, entry, check_sha256=hash_file))
    if shard_file_problem(root, entry):  # missing or not the folder's own file: nothing more can be checked
        return None
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        report.problems.append(f"{rel}: not a readable Parquet file ({exc})")
        return None
    if not _check_schema(rel, pf.schema_arrow, report):
        return None
    if pf.metadata.num_rows != entry.get("num_rows"):
        report.problems.append(f"{rel}: {pf.metadata.num_rows} rows, manifest says {entry.get('num_rows')}")
    return pf


def _check_shard(root: Path, entry: dict[str, Any], report: VerifyReport, decode_frames: bool,
                 seen_rows: Counter, sample_shard: dict[str, str], image_format: str | None) -> None:
    rel = entry.get("shard", "?")
    pf = open_shard(root, entry, report)
    if pf is None:
        return
    ids_in_shard: list[str] = []
    for rg in range(pf.num_row_groups):
        try:
            table = pf.read_row_group(rg)
        except (pa.ArrowException, OSError) as exc:
            report.problems.append(f"{rel}: row group {rg} cannot be read ({exc})")
            continue
        for row in table.to_pylist():
            key = (row["sample_id"], row["variant"])
            where = f"{rel} sample {row['sample_id']} variant {row['variant']}"
            seen_rows[key] += 1
            if seen_rows[key] == 2:
                report.problems.append(f"{where}: duplicate row")
            first = sample_shard.setdefault(row["sample_id"], f"{rel}#{rg}")
            if first != f"{rel}#{rg}" and seen_rows[key] == 1:
                report.problems.append(f"{where}: the sample's rows are split across {first} and {rel}#{rg}")
            if not ids_in_shard or ids_in_shard[-1] != row["sample_id"]:
                ids_in_shard.append(row["sample_id"])
            report.rows += 1
            _check_row(where, row, report, decode_frames, image_format)
    if sorted(set(ids_in_shard)) != sorted(entry.get("sample_ids", [])):
        missing = sorted(set(entry.get("sample_ids", [])) - set(ids_in_shard))
        extra = sorted(set(ids_in_shard) - set(entry.get("sample_ids", [])))
        report.problems.append(f"{rel}: samples differ from the manifest (missing {missing[:5]}, unlisted {extra[:5]})")


def verify_dataset(root: str | Path, *, decode_frames: bool = True) -> VerifyReport:
    """Check version, schema, manifest counts and hashes, duplicates, row hashes and every frame."""
    root = Path(root)
    report = VerifyReport(str(root))
    try:
        info = load_info(root)
    except (FileNotFoundError, DatasetFormatError, json.JSONDecodeError) as exc:
        report.problems.append(f"{INFO_PATH}: {exc}")
        return report
    report.format_version = info.format_version
    manifest = trusted_manifest(root, report)
    if manifest is None:
        return report
    report.shards = len(manifest)
    listed = {e.get("shard") for e in manifest}
    for stray in sorted((root / "data").glob("*")) if (root / "data").is_dir() else []:
        rel = f"data/{stray.name}"
        if rel not in listed:
            report.problems.append(f"{rel}: not in the manifest (left by an interrupted run; re-run `vcprep render`)")
    seen_rows: Counter = Counter()
    sample_shard: dict[str, str] = {}
    manifest_samples = Counter(s for e in manifest for s in e.get("sample_ids", []))
    for sample_id, n in manifest_samples.items():
        if n > 1:
            report.problems.append(f"{MANIFEST_PATH}: sample {sample_id} is listed in {n} shards")
    image_format = recipe_image_format(info.config)
    for entry in manifest:
        _check_shard(root, entry, report, decode_frames, seen_rows, sample_shard, image_format)
    report.samples = len(sample_shard)
    _check_counts(info, manifest, manifest_samples, report)
    return report


def trusted_manifest(root: Path, report: VerifyReport) -> list[dict[str, Any]] | None:
    """The manifest's entries when every one of them is well formed (checked before any path in it
    is opened); None, with the problems reported, otherwise."""
    check = check_manifest(root)
    report.problems.extend(check.problems)
    return check.entries if check.trusted else None


def _check_counts(info: Any, manifest: list[dict[str, Any]], manifest_samples: Counter, report: VerifyReport) -> None:
    """info.json's counts against the manifest's."""
    if info.num_samples != len(manifest_samples):
        report.problems.append(f"{INFO_PATH}: num_samples {info.num_samples}, manifest lists {len(manifest_samples)}")
    if info.num_rows != sum(e.get("num_rows", 0) for e in manifest):
        report.problems.append(f"{INFO_PATH}: num_rows {info.num_rows}, manifest sums to "
                               f"{sum(e.get('num_rows', 0) for e in manifest)}")
    if info.num_shards != len(manifest):
        report.problems.append(f"{INFO_PATH}: num_shards {info.num_shards}, manifest lists {len(manifest)}")
