"""Reading a dataset folder's rows back as Python dicts (exports, previews, statistics, tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from vcprep.dataset.info import load_info
from vcshard.manifest import load_manifest


def shard_paths(root: str | Path) -> list[Path]:
    return [Path(root) / e["shard"] for e in load_manifest(root)]


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
