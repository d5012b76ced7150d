"""The shard contract held in one place (vcshard): SCHEMA.md agrees with the schema column by column, rows are checked
against the schema when written, and vctrain's reader refuses what the shared checks refuse."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from vcprep.dataset.writers import ShardWriter, sample_table
from vcshard.schema import COLUMN_NAMES, FORMAT_VERSION, HASH_COLUMN, RowSchemaError, arrow_schema, check_row_columns

ROOT = Path(__file__).resolve().parents[1]


def _doc_type(t: pa.DataType) -> str:
    """An Arrow type in SCHEMA.md's notation (`float64`, `list<int32>`, `struct<bytes: binary, path: string>`)."""
    if pa.types.is_list(t):
        return f"list<{_doc_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{f.name}: {_doc_type(f.type)}" for f in t) + ">"
    return {"double": "float64", "float": "float32"}.get(str(t), str(t))


def _documented_columns() -> list[tuple[str, str]]:
    """(column, type) rows of SCHEMA.md's "Columns" table, in order; a row naming two columns gives both."""
    doc = (ROOT / "data_cards/SCHEMA.md").read_text()
    table = doc.split("\n## Columns\n", 1)[1].split("\n## ", 1)[0]
    out = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = re.findall(r"`([a-z_0-9]+)`", cells[0]) if len(cells) >= 3 else []
        out += [(name, cells[1]) for name in names]
    return out


def test_schema_md_lists_every_column_in_order_with_its_type() -> None:
    schema = arrow_schema()
    assert f"version {FORMAT_VERSION}" in (ROOT / "data_cards/SCHEMA.md").read_text().splitlines()[0]
    # the deciding line: SCHEMA.md's table, expanded, equals the schema's (name, type) list exactly
    assert _documented_columns() == [(f.name, _doc_type(f.type)) for f in schema]


def _row() -> dict:
    """A complete row of one sample: every column of the schema but row_sha256 (the writer fills that)."""
    values = {"string": "x", "float64": 1.5, "int32": 3, "int64": 4, "bool": True, "float32": 0.5}

    def value(t: pa.DataType):
        if pa.types.is_list(t):
            return [value(t.value_type)]
        if pa.types.is_struct(t):
            return {"bytes": b"\xff\xd8", "path": "s/raw/000000.jpg"}
        return values[_doc_type(t)]

    return {f.name: value(f.type) for f in arrow_schema() if f.name != HASH_COLUMN}


def test_a_complete_row_passes_and_is_hashed() -> None:
    table = sample_table("s", [_row()])
    assert table.num_rows == 1 and len(table.column(HASH_COLUMN)[0].as_py()) == 64


def test_a_misspelt_column_fails_naming_both_columns(tmp_path: Path) -> None:
    row = _row()
    row["tube_boxs"] = row.pop("tube_boxes")
    writer = ShardWriter(tmp_path / "ds")
    with pytest.raises(RowSchemaError, match=r"sample s variant x: unknown column\(s\) \['tube_boxs'\].*"
                                             r"missing column\(s\) \['tube_boxes'\]"):
        writer.write_sample("s", [row])
    writer.close()


def test_a_missing_column_fails_naming_it() -> None:
    row = _row()
    del row["oracle_viou"]
    with pytest.raises(RowSchemaError, match=r"missing column\(s\) \['oracle_viou'\]"):
        sample_table("s", [row])
    with pytest.raises(RowSchemaError, match=r"unknown column\(s\) \['extra'\]"):
        check_row_columns({**_row(), "extra": 1}, "row")


def test_a_value_of_the_wrong_type_fails_naming_its_column() -> None:
    row = _row()
    row["target_id"] = "three"
    with pytest.raises(RowSchemaError, match=r"sample s variant x: column 'target_id' .*int32"):
        sample_table("s", [row])


def test_the_column_list_is_the_schema() -> None:
    assert arrow_schema().names == COLUMN_NAMES and COLUMN_NAMES[-1] == HASH_COLUMN
