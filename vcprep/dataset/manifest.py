"""Keeping the manifest true to the files: repairing it after a kill, and folding distributed workers' parts in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vcprep.dataset.files import append_jsonl, atomic_write_text, fsync_dir
from vcshard.layout import MANIFEST_PARTS_DIR, MANIFEST_PATH, VIDEO_STATS_PARTS_DIR, VIDEO_STATS_PATH
from vcshard.manifest import load_manifest, manifest_entry_problem, read_jsonl


def repair_manifest(root: Path) -> list[dict[str, Any]]:
    """Keep only complete manifest lines whose shard exists, and rewrite the file atomically.

    A kill during an append leaves a torn last line without a newline; the next append would
    glue onto it and be lost, so the manifest is rewritten clean before anything is added.
    """
    entries = [e for e in load_manifest(root) if manifest_entry_problem(e) is None and (root / e["shard"]).is_file()]
    path = root / MANIFEST_PATH
    # written even when empty: an empty manifest is a valid (empty) dataset
    atomic_write_text(path, "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
    return entries


def merge_parts(root: str | Path) -> int:
    """Fold the workers' manifest and video-stats parts into the dataset's own files; returns the
    number of shards added. Call it only while holding the folder lock (the driver).

    A part entry is added when its shard exists at the listed size and none of its samples is
    listed yet; a shard whose samples are already listed is a duplicate and is deleted. The
    manifest is rewritten atomically before any part is removed, so a kill at any point leaves
    either the part or the merged entry, never neither, and merging twice adds nothing.
    """
    root = Path(root)
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
            path = root / entry["shard"]
            if entry["shard"] in shards or not path.is_file() or path.stat().st_size != entry["bytes"]:
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
