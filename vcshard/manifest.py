"""The manifest (`meta/manifest.jsonl`): one JSON line per committed shard, and the checks a line must pass before
any path in it is opened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vcshard.layout import MANIFEST_PATH


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
