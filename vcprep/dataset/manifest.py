"""Keeping the manifest true to the files: repairing it after a kill, and folding distributed workers' parts in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vcprep.dataset.files import append_jsonl, atomic_write_text, fsync_dir
from vcprep.dataset.lock import check_folder_layout
from vcshard.layout import MANIFEST_PARTS_DIR, MANIFEST_PATH, VIDEO_STATS_PARTS_DIR, VIDEO_STATS_PATH
from vcshard.manifest import load_manifest, manifest_entry_problem, read_jsonl, shard_file_problem


def repair_manifest(root: Path) -> list[dict[str, Any]]:
    """Keep only complete manifest lines whose shard exists, and rewrite the file atomically.

    A kill during an append leaves a torn last line without a newline; the next append would
    glue onto it and be lost, so the manifest is rewritten clean before anything is added.
    """
    entries = [e for e in load_manifest(root)
               if manifest_entry_problem(e) is None and shard_file_problem(root, e) is None]
    path = root / MANIFEST_PATH
    # written even when empty: an empty manifest is a valid (empty) dataset
    atomic_write_text(path, "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
    return entries


def part_entry_problem(root: Path, worker: str, entry: Any) -> str | None:
    """Why a line of worker `worker`'s manifest part cannot be merged: the checks of a manifest entry, and the
    shard must be one of that worker's own (`data/shard-<worker>-N.parquet`) with its size listed."""
    problem = manifest_entry_problem(entry) or shard_file_problem(root, entry)
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
    own worker (`part_entry_problem`; any other line is ignored and its file left alone), the shard
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
        for entry in read_jsonl(part):
            if part_entry_problem(root, part.stem, entry) is not None:
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
        atomic_write_text(root / MANIFEST_PATH, "".join(json.dumps(e, sort_keys=True) + "\n" for e in manifest))
        fsync_dir(root / "meta")
    for part in parts:
        part.unlink()
    for part in stats_parts:  # stats records are keyed by video; a record merged twice is harmless
        for record in read_jsonl(part):
            append_jsonl(root / VIDEO_STATS_PATH, record)
        part.unlink()
    return added
