"""Reading a dataset folder's rows back as Python dicts (exports, previews, statistics, tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from vcprep.dataset.info import load_info
from vcshard.layout import MANIFEST_PATH
from vcshard.manifest import load_manifest, manifest_entry_problem, shard_file_problem
from vcshard.schema import DatasetFormatError


def shard_paths(root: str | Path) -> list[Path]:
    """The dataset's shard files, after the manifest-entry and own-file checks on every entry, before any is opened.

    Raises DatasetFormatError naming the first entry `vcprep verify` would reject for it, so export, preview and
    the card never read a file outside the folder."""
    root = Path(root)
    entries = load_manifest(root)
    for n, entry in enumerate(entries, 1):
        problem = manifest_entry_problem(entry) or shard_file_problem(root, entry)
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
