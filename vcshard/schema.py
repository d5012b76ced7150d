"""The row schema of shard format v1: every column with its Arrow type and Hugging Face feature, in order.

`data_cards/SCHEMA.md` documents every column; `FORMAT_VERSION` is bumped on any change
(minor: columns added; major: anything a reader relies on changed or removed).
1.1 added `row_sha256`, a content hash of each row that `vcprep verify` recomputes.
1.2 added `target_match`, `target_votes`, `target_frames_annotated`, `target_mean_iou`: how the target was matched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

FORMAT_VERSION = "1.2"

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
    ("target_match", pa.string(), "string"),
    ("target_votes", pa.int32(), "int32"),
    ("target_frames_annotated", pa.int32(), "int32"),
    ("target_mean_iou", pa.float64(), "float64"),
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


class RowSchemaError(ValueError):
    """A row that does not fit the schema; the message names the row, each offending column and why."""


def check_row_columns(row: Mapping[str, Any], where: str) -> None:
    """Refuse a row with a column the schema lacks or without one it has (`row_sha256` excepted: the writer fills it).

    Why: Arrow builds a table from the schema's names only, so a misspelt key would be dropped without a word and
    its column written as null. `where` names the row in the message (e.g. `sample s1 variant raw`).
    """
    unknown = sorted(set(row) - set(COLUMN_NAMES))
    missing = [name for name in COLUMN_NAMES if name not in row and name != HASH_COLUMN]
    reasons = []
    if unknown:
        reasons.append(f"unknown column(s) {unknown} (not in the shard schema)")
    if missing:
        reasons.append(f"missing column(s) {missing}")
    if reasons:
        raise RowSchemaError(f"{where}: {'; '.join(reasons)}; data_cards/SCHEMA.md lists the columns")


def column_type_problem(row: Mapping[str, Any]) -> str | None:
    """The first column whose value Arrow cannot store as the schema's type, with Arrow's reason; None if all fit.

    Used to name the column after Arrow refuses a whole row (its own message does not say which column)."""
    for name, arrow_type, _ in _COLUMNS:
        try:
            pa.array([row.get(name)], type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            value = row.get(name)
            return f"column {name!r} holds {type(value).__name__} {value!r:.60}, expected {arrow_type} ({exc})"
    return None


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
            f"dataset format {version} is newer than this reader ({FORMAT_VERSION}); upgrade vcprep / vctrain"
        )


def column_problems(schema: pa.Schema) -> list[str]:
    """Each column of the shard format that `schema` lacks or stores with another Arrow type, named.

    `vcprep verify` reports them and vctrain refuses the folder on the first: a reader that trusted a column's
    type would train on an integer `sample_id` or end in a traceback deep in a step."""
    problems = []
    for expected in arrow_schema():
        idx = schema.get_field_index(expected.name)
        if idx < 0:
            problems.append(f"column {expected.name!r} is missing")
        elif not schema.field(idx).type.equals(expected.type):
            problems.append(f"column {expected.name!r} is {schema.field(idx).type}, expected {expected.type}")
    return problems
