"""A sample's rows read from its row group on demand, a few row groups kept in memory.

All variants of a sample share one row group, so opening a sample (and its thumbnails, and the
next few samples of the same page) costs one row-group read. The cache holds at most
`max_row_groups` groups (each at most the writer's `max_row_group_bytes`, 100 MB by default).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from io import BytesIO
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from vcprep.view.catalog import DatasetCatalog
from vcshard.frames import read_frame_header, size_problem
from vcshard.hashing import row_content_hash
from vcshard.schema import HASH_COLUMN


class RowReadError(RuntimeError):
    """A row group that cannot be read, or a row whose content does not match its hash."""


class RowGroupCache:
    """Row groups of one dataset as Arrow tables, least recently used dropped first."""

    def __init__(self, catalog: DatasetCatalog, max_row_groups: int = 3) -> None:
        self.catalog = catalog
        self.max_row_groups = max_row_groups
        self._tables: OrderedDict[tuple[str, int], tuple[pa.Table, dict[str, list[int]]]] = OrderedDict()
        self._lock = threading.Lock()

    def _group(self, shard: str, row_group: int) -> tuple[pa.Table, dict[str, list[int]]]:
        key = (shard, row_group)
        with self._lock:
            if key in self._tables:
                self._tables.move_to_end(key)
                return self._tables[key]
        try:
            table = pq.ParquetFile(self.catalog.shard_files[shard]).read_row_group(row_group)
        except (pa.ArrowException, OSError) as exc:
            raise RowReadError(f"{shard}: row group {row_group} cannot be read ({exc})") from None
        where: dict[str, list[int]] = {}
        for i, sample_id in enumerate(table.column("sample_id").to_pylist()):
            where.setdefault(sample_id, []).append(i)
        with self._lock:
            self._tables[key] = (table, where)
            while len(self._tables) > self.max_row_groups:
                self._tables.popitem(last=False)
        return table, where

    def rows(self, sample_id: str) -> list[dict[str, Any]]:
        """Every variant row of the sample, frames included, each checked against its `row_sha256`."""
        entry = self.catalog.samples[sample_id]
        table, where = self._group(entry.shard, entry.row_group)
        out = []
        for i in where.get(sample_id, []):
            row = table.slice(i, 1).to_pylist()[0]
            if row.get(HASH_COLUMN) != row_content_hash(row):
                raise RowReadError(f"{entry.shard}: sample {sample_id} variant {row.get('variant')}: content does "
                                   "not match row_sha256 (the row was changed after writing; run `vcprep verify`)")
            out.append(row)
        return out

    def frame_bytes(self, sample_id: str, variant: str, index: int) -> bytes | None:
        """The stored (encoded) bytes of one frame, or None when the variant or the frame does not exist."""
        entry = self.catalog.samples[sample_id]
        table, where = self._group(entry.shard, entry.row_group)
        variants = table.column("variant")
        for i in where.get(sample_id, []):
            if variants[i].as_py() != variant:
                continue
            frames = table.column("frames")[i].as_py() or []
            return frames[index]["bytes"] if 0 <= index < len(frames) else None
        return None


def thumbnail_jpeg(data: bytes, width_px: int = 160) -> bytes:
    """A small JPEG of a stored frame for the sample list; ValueError for bytes that vcshard's header check refuses
    (not JPEG/PNG, or declaring a size above the cap), before Pillow decodes anything (its JPEG and PNG only)."""
    header = read_frame_header(data)
    problem = size_problem(header.width, header.height)
    if problem:
        raise ValueError(problem)
    with Image.open(BytesIO(data), formats=["JPEG", "PNG"]) as stored:
        image = stored.convert("RGB")
    image.thumbnail((width_px, width_px * 4))
    out = BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def image_type(data: bytes) -> str:
    """The content type of stored frame bytes (the writer stores JPEG or PNG)."""
    return "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
