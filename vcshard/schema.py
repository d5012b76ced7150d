"""The row schema of shard format v1: every column with its Arrow type and Hugging Face feature, in order.

`data_cards/SCHEMA.md` documents every column; `FORMAT_VERSION` is bumped on any change
(minor: columns added; major: anything a reader relies on changed or removed).
1.1 added `row_sha256`, a content hash of each row that `vcprep verify` recomputes.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

FORMAT_VERSION = "1.1"

_IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
_BOX = pa.list_(pa.float32())

# (name, arrow type, Hugging Face feature) in column order.
_COLUMNS: list[tuple[str, pa.DataType, Any]] = [
    ("sample_id", pa.string(), "string"),
    ("variant", pa.string(), "string"),
    ("source", pa.string(), "string"),
    ("task", pa.string(), "string"),
    ("video_path", pa.string(), "string"),
    ("video_fps", pa.float64(), "float64"),
    ("video_duration_seconds", pa.float64(), "float64"),
    ("source_width", pa.int32(), "int32"),
    ("source_height", pa.int32(), "int32"),
    ("frame_width", pa.int32(), "int32"),
    ("frame_height", pa.int32(), "int32"),
    ("question", pa.string(), "string"),
    ("hint", pa.string(), "string"),
    ("system_prompt", pa.string(), "string"),
    ("user_prompt", pa.string(), "string"),
    ("answer", pa.string(), "string"),
    ("target_id", pa.int32(), "int32"),
    ("gt_span_seconds", pa.list_(pa.float64()), ["float64"]),
    ("gt_frame_indices", pa.list_(pa.int64()), ["int64"]),
    ("gt_pts_seconds", pa.list_(pa.float64()), ["float64"]),
    ("gt_boxes", pa.list_(_BOX), [["float32"]]),
    ("object_names", pa.list_(pa.string()), ["string"]),
    ("options", pa.list_(pa.string()), ["string"]),
    ("frames", pa.list_(_IMAGE), ["Image"]),
    ("frame_indices", pa.list_(pa.int64()), ["int64"]),
    ("pts_seconds", pa.list_(pa.float64()), ["float64"]),
    ("key_frame", pa.list_(pa.bool_()), ["bool"]),
    ("frame_track_ids", pa.list_(pa.list_(pa.int32())), [["int32"]]),
    ("frame_track_boxes", pa.list_(pa.list_(_BOX)), [[["float32"]]]),
    ("tube_frame_indices", pa.list_(pa.int64()), ["int64"]),
    ("tube_pts_seconds", pa.list_(pa.float64()), ["float64"]),
    ("tube_track_ids", pa.list_(pa.int32()), ["int32"]),
    ("tube_boxes", pa.list_(_BOX), [["float32"]]),
    ("oracle_tiou", pa.float64(), "float64"),
    ("oracle_viou", pa.float64(), "float64"),
    ("meta", pa.string(), "string"),
    ("row_sha256", pa.string(), "string"),
]


def _hf_feature(spec: Any) -> dict[str, Any]:
    if isinstance(spec, list):
        return {"feature": _hf_feature(spec[0]), "_type": "List"}
    if spec == "Image":
        return {"_type": "Image"}
    return {"dtype": spec, "_type": "Value"}


def hf_features() -> dict[str, Any]:
    """The Hugging Face `datasets` features of the schema (frames decode as PIL images)."""
    return {name: _hf_feature(spec) for name, _, spec in _COLUMNS}


def arrow_schema() -> pa.Schema:
    meta = {
        b"huggingface": json.dumps({"info": {"features": hf_features()}}).encode(),
        b"vcprep_format_version": FORMAT_VERSION.encode(),
    }
    return pa.schema([pa.field(n, t) for n, t, _ in _COLUMNS], metadata=meta)


COLUMN_NAMES = [n for n, _, _ in _COLUMNS]
HASH_COLUMN = "row_sha256"


class DatasetFormatError(RuntimeError):
    """meta/info.json or the manifest is not what the format says (wrong types, unparsable, unsafe paths)."""


class FormatVersionError(DatasetFormatError):
    pass


def check_version(version: str) -> None:
    try:
        major = int(str(version).split(".")[0])
    except ValueError:
        raise DatasetFormatError(f"format_version {version!r} is not MAJOR.MINOR") from None
    if major > int(FORMAT_VERSION.split(".")[0]):
        raise FormatVersionError(
            f"dataset format {version} is newer than this reader ({FORMAT_VERSION}); upgrade vcprep"
        )
