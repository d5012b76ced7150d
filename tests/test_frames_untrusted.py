"""Stored frames from someone else's folder are checked from their header before anything decodes them:
JPEG or PNG only (the one the recipe chose), and the declared size must be the row's own size, under a
global cap. `vcprep verify` and `vctrain` apply the same check (one implementation); a refused row is
named, never decoded, never handed to Ghostscript. Real shards from the real pipeline, frames re-encoded
with Pillow or with their JPEG header rewritten, the row hash and manifest fixed up as a careful tamperer would.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from test_tampering import _write_manifest

from vcprep.dataset.verify import verify_dataset
from vcshard.hashing import row_content_hash, sha256_file
from vcshard.manifest import load_manifest
from vcshard.schema import arrow_schema


def _rewrite_frames(ds: Path, encode, **row_changes: object) -> None:
    """Re-encode every frame of every row of shard 0 with `encode(rgb) -> bytes`, rehash, fix the manifest."""
    entries = load_manifest(ds)
    path = ds / entries[0]["shard"]
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        for frame in row["frames"]:
            rgb = np.asarray(Image.open(io.BytesIO(frame["bytes"])).convert("RGB"))
            frame["bytes"] = encode(rgb)
        row.update(row_changes)
        row["row_sha256"] = row_content_hash(row)
    pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema()), path)
    entries[0].update(sha256=sha256_file(path), bytes=path.stat().st_size)
    _write_manifest(ds, entries)


def _pillow(fmt: str):
    def encode(rgb: np.ndarray) -> bytes:
        out = io.BytesIO()
        Image.fromarray(rgb).save(out, fmt)
        return out.getvalue()
    return encode


def _jpeg_declaring(width: int, height: int):
    """The frame's own JPEG with its SOF0 header rewritten to declare width x height (a few hundred bytes
    that a decoder would expand to width*height*3 bytes)."""
    def encode(rgb: np.ndarray) -> bytes:
        data = bytearray(_pillow("JPEG")(rgb))
        sof = data.index(b"\xff\xc0")  # baseline frame header: FF C0, length(2), precision(1), height(2), width(2)
        data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
        return bytes(data)
    return encode


def _problems(ds: Path) -> list[str]:
    return verify_dataset(ds, decode_frames=True).problems


def _vctrain_refuses(ds: Path, words: str) -> None:
    from vctrain.data.reader import ShardCheckError, index_rows, load_sample

    refs = [r for r in index_rows([str(ds)], "raw", full_check=True) if r.shard_path.endswith("00000.parquet")]
    with pytest.raises(ShardCheckError, match=words):
        load_sample(refs[0], 4)


@pytest.mark.parametrize(("fmt", "name"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF"), ("WEBP", "RIFF/WebP"),
                                           ("PPM", "PPM"), ("ICO", "ICO"), ("EPS", "EPS")])
def test_frames_in_another_format_are_refused_by_verify_and_vctrain(ds: Path, fmt: str, name: str) -> None:
    _rewrite_frames(ds, _pillow(fmt))
    problems = _problems(ds)
    assert any(f"{name} data, not JPEG or PNG" in p for p in problems), problems
    _vctrain_refuses(ds, f"{name} data, not JPEG or PNG")


def test_a_png_frame_in_a_jpeg_dataset_is_refused(ds: Path) -> None:
    _rewrite_frames(ds, _pillow("PNG"))
    assert any("PNG data, the dataset stores JPEG frames" in p for p in _problems(ds))
    _vctrain_refuses(ds, "PNG data, the dataset stores JPEG frames")


@pytest.mark.parametrize(("width", "height"), [(30000, 30000), (65535, 65535)])
def test_a_header_declaring_a_huge_frame_is_refused_before_decoding(ds: Path, width: int, height: int) -> None:
    _rewrite_frames(ds, _jpeg_declaring(width, height))
    problems = _problems(ds)
    assert any(f"header declares {width}x{height}, the row says 256x" in p for p in problems), problems
    done = subprocess.run([sys.executable, "-m", "vcprep.cli", "verify", str(ds)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "header declares" in done.stdout
    _vctrain_refuses(ds, f"header declares {width}x{height}")


def test_a_row_claiming_a_huge_frame_size_is_refused_by_the_cap(ds: Path) -> None:
    """Four 12000x12000 frames whose rows say 12000x12000 too: the header matches the row, the cap refuses."""
    _rewrite_frames(ds, _jpeg_declaring(12000, 12000), frame_width=12000, frame_height=12000)
    assert any("frame size 12000x12000 is above the limit" in p for p in _problems(ds))
    _vctrain_refuses(ds, "frame size 12000x12000 is above the limit")


def test_the_untouched_frames_pass_both(bikes_small: Path) -> None:
    from vctrain.data.reader import index_rows, load_sample

    assert verify_dataset(bikes_small).ok
    sample = load_sample(index_rows([str(bikes_small)], "raw")[0], 4)
    assert sample.frames.shape[1:] == (sample.row["frame_height"], sample.row["frame_width"], 3)


@pytest.mark.parametrize(("column", "arrow_type", "words"), [
    ("sample_id", pa.int64(), "column 'sample_id' is int64, expected string"),
    ("frame_width", pa.string(), "column 'frame_width' is string, expected int32"),
    ("pts_seconds", pa.list_(pa.float32()), "column 'pts_seconds' is list<element: float> not null"),
])
def test_a_column_of_another_type_is_refused_by_verify_and_vctrain(ds: Path, column: str, arrow_type: pa.DataType,
                                                                    words: str) -> None:
    from vctrain.data.reader import ShardCheckError, index_rows

    entries = load_manifest(ds)
    path = ds / entries[0]["shard"]
    table = pq.read_table(path)
    rows = table.to_pylist()
    if column == "sample_id":
        for k, row in enumerate(rows):
            row["sample_id"] = 7 + k // 2  # an integer id, as a hand-made shard might hold
    elif column == "frame_width":
        for row in rows:
            row["frame_width"] = str(row["frame_width"])
    i = table.schema.get_field_index(column)
    schema = table.schema.set(i, pa.field(column, arrow_type))
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    entries[0].update(sha256=sha256_file(path), bytes=path.stat().st_size)
    _write_manifest(ds, entries)
    problems = verify_dataset(ds, decode_frames=False).problems
    assert any(words.split(" not null")[0] in p for p in problems), problems
    with pytest.raises(ShardCheckError, match=f"column '{column}' is "):
        index_rows([str(ds)], "raw")


def test_preview_and_the_viewers_thumbnails_refuse_a_bomb_before_decoding(ds: Path, tmp_path: Path) -> None:
    from vcprep.dataset.preview import contact_sheet
    from vcprep.view.rows import thumbnail_jpeg

    _rewrite_frames(ds, _jpeg_declaring(30000, 30000))
    with pytest.raises(ValueError, match="header declares 30000x30000"):
        contact_sheet(ds)
    done = subprocess.run([sys.executable, "-m", "vcprep.cli", "preview", str(ds), "--out", str(tmp_path / "p.png")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "header declares 30000x30000" in done.stderr and "Traceback" not in done.stderr
    tiny = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="frame size 30000x30000 is above the limit"):
        thumbnail_jpeg(_jpeg_declaring(30000, 30000)(tiny))
    with pytest.raises(ValueError, match="EPS data, not JPEG or PNG"):
        thumbnail_jpeg(_pillow("EPS")(tiny))
    assert thumbnail_jpeg(_pillow("PNG")(tiny))[:2] == b"\xff\xd8"
