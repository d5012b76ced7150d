"""The manifest (`meta/manifest.jsonl`): one JSON line per committed shard, and the checks a line must pass before
any path in it is opened."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcshard.hashing import sha256_file
from vcshard.layout import MANIFEST_PATH

REQUIRED_KEYS = ("num_rows", "bytes", "sha256")
"""Keys every manifest line carries since format 1.0 (`num_row_groups` came with 1.1 and may be absent)."""


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
        if key not in entry and key in REQUIRED_KEYS:
            return f"{key} is missing"
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


def shard_file_problem(root: str | Path, entry: dict[str, Any]) -> str | None:
    """Why the shard of a well-formed manifest entry cannot be opened as the folder's own file, or None.

    The check every reader and writer makes before opening, deleting or merging a listed shard (verify, export,
    preview, the card, a resume, merging workers' parts, vctrain): `data/` is the folder's own directory and the
    shard a regular file in it, not a link that could point anywhere (a manifest comes from a shared folder)."""
    rel = entry["shard"]
    if (Path(root) / "data").is_symlink():
        return f"{rel}: data/ is a symbolic link, not a folder of the dataset"
    path = Path(root) / rel
    if path.is_symlink():
        return f"{rel}: is a symbolic link, not a file of the dataset"
    if not path.is_file():
        return f"{rel}: listed in the manifest but missing"
    return None


@dataclass
class ManifestCheck:
    """What reading a folder's manifest found, before any path in it is opened."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    """The well-formed lines, in file order."""
    problems: list[str] = field(default_factory=list)
    """Each names the manifest and the line: the file missing, a damaged (torn) line, a malformed entry."""
    trusted: bool = True
    """False when the file is missing or an entry is malformed: then no path it lists may be opened. A damaged line
    alone (a kill mid-append) leaves the other lines trusted; the writer drops it on the next run."""


def check_manifest(root: str | Path) -> ManifestCheck:
    """Read `meta/manifest.jsonl` line by line with `manifest_entry_problem` on each (`vcprep verify` reports the
    problems, vctrain's reader refuses the folder on the first)."""
    path = Path(root) / MANIFEST_PATH
    check = ManifestCheck()
    if not path.is_file():
        check.problems.append(f"{MANIFEST_PATH}: missing (an unfinished or hand-made folder; run `vcprep render`)")
        check.trusted = False
        return check
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            check.problems.append(f"{MANIFEST_PATH}: line {n} is damaged (interrupted write; re-run `vcprep render`)")
            continue
        problem = manifest_entry_problem(entry)
        if problem:
            check.problems.append(f"{MANIFEST_PATH}: line {n}: {problem}")
            check.trusted = False
        else:
            check.entries.append(entry)
    return check


def shard_file_problems(root: str | Path, entry: dict[str, Any], *, check_sha256: bool) -> list[str]:
    """The shard file of a well-formed manifest entry against the entry: present, the folder's own file
    (`shard_file_problem`: not a link that could point anywhere, in a data/ that is no link either), the listed size
    and, with `check_sha256`, the listed sha256 (reads the whole file).

    Empty when it matches. A missing or linked file is the only problem reported (nothing else can be checked)."""
    rel = entry["shard"]
    path = Path(root) / rel
    own = shard_file_problem(root, entry)
    if own:
        return [own]
    problems = []
    if path.stat().st_size != entry["bytes"]:
        problems.append(f"{rel}: {path.stat().st_size} bytes, manifest says {entry['bytes']} (truncated?)")
    if check_sha256 and sha256_file(path) != entry["sha256"]:
        problems.append(f"{rel}: sha256 differs from the manifest (file changed or damaged)")
    return problems
