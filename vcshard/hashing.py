"""The two hashes of the contract: `row_sha256` (a row's content) and a shard file's sha256 (the manifest's)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from vcshard.schema import HASH_COLUMN


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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
