"""Bad bytes and pathological JSON in any annotation format are per-record (or per-file)
errors, never a crash; an empty or wholly unusable annotation file is refused before anything runs.

Real sources read real files written here; nothing is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vcprep.core.config import PipelineConfig, SourceConfig
from vcprep.core.errors import ErrorRecord
from vcprep.core.types import Sample
from vcprep.sources import build_source
from vcprep.sources.plan import UnusableSourceError, plan_jobs

DEEP = "[" * 200_000 + "]" * 200_000  # deeper than Python's recursion limit
GOOD_LINE = {"id": "ok-1", "video": "vtest.avi", "question": "Who walks?", "span_seconds": [1.0, 2.0]}


def _read(name: str, path: Path, **params: object) -> tuple[list[Sample], list[ErrorRecord]]:
    samples, errors = [], []
    for item in build_source(name, {"annotations": str(path), **params}).iter_samples():
        (errors if isinstance(item, ErrorRecord) else samples).append(item)
    return samples, errors


def test_jsonl_non_utf8_and_deep_lines_are_one_error_each_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ann.jsonl"
    lines = [json.dumps(GOOD_LINE).encode(),
             b'{"id": "latin1", "video": "v.mp4", "question": "caf\xe9"}',  # a Latin-1 byte, not UTF-8
             DEEP.encode(),
             json.dumps({**GOOD_LINE, "id": "ok-2"}).encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    samples, errors = _read("jsonl", path)
    assert [s.sample_id for s in samples] == ["ok-1", "ok-2"]  # nothing after the bad lines is lost
    assert len(errors) == 2
    assert "line 2 is not UTF-8" in errors[0].reason and errors[0].file.endswith("ann.jsonl:2")
    assert "nested too deeply" in errors[1].reason and errors[1].file.endswith("ann.jsonl:3")


def test_charades_non_utf8_line_is_one_error_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "charades_sta_test.txt"
    path.write_bytes(b"AO8RW 0.0 6.9##a person puts a book away.\n"
                     b"BX2CV 1.0 3.0##a person opens the \xff\xfe door.\n"
                     b"CZ9QQ 2.0 5.5##a person sits down.\n")
    samples, errors = _read("charades_sta", path)
    assert [s.sample_id for s in samples] == ["charades-AO8RW-1", "charades-CZ9QQ-3"]
    assert len(errors) == 1 and "line 2 is not UTF-8" in errors[0].reason and errors[0].sample_id == "line 2"


@pytest.mark.parametrize("name", ["hcstvg", "vidstg", "vstar", "stgr"])
def test_every_json_source_reports_deep_nesting_and_bad_bytes_for_the_file(tmp_path: Path, name: str) -> None:
    for content, words in ((DEEP.encode(), "nested too deeply"), (b'{"a": "\xff"}', "not valid JSON")):
        path = tmp_path / f"{name}.json"
        path.write_bytes(content)
        samples, errors = _read(name, path)
        assert samples == [] and len(errors) == 1
        assert words in errors[0].reason and errors[0].file == str(path)


def _config(tmp_path: Path, text: bytes, name: str = "jsonl") -> PipelineConfig:
    path = tmp_path / "ann.jsonl"
    path.write_bytes(text)
    return PipelineConfig(name="t", source=SourceConfig(name=name, annotations=str(path)), base_dir=str(tmp_path))


def test_an_empty_or_wholly_bad_annotation_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnusableSourceError, match=r"ann\.jsonl: no records"):
        plan_jobs(_config(tmp_path, b"\n\n"))
    with pytest.raises(UnusableSourceError, match=r"no usable record \(2 bad; first: malformed record"):
        plan_jobs(_config(tmp_path, b"not json\n{\"id\": \"x\"}\n"))
    jobs, errors = plan_jobs(_config(tmp_path, json.dumps(GOOD_LINE).encode() + b"\nnot json\n"))
    assert [s.sample_id for j in jobs for s in j.samples] == ["ok-1"] and len(errors) == 1


def test_nan_in_a_key_item_box_is_a_record_error(tmp_path: Path) -> None:
    rec = {**GOOD_LINE, "key_items": [{"name": "man", "time": 1.0, "box": [1, 2, float("nan"), 40]}]}
    path = tmp_path / "ann.jsonl"
    path.write_text(json.dumps(rec) + "\n" + json.dumps({**GOOD_LINE, "id": "ok-2"}) + "\n")
    samples, errors = _read("jsonl", path)
    assert [s.sample_id for s in samples] == ["ok-2"]
    assert len(errors) == 1 and "key_items[0]" in errors[0].reason


def test_charades_duration_csv_with_bad_bytes_is_one_error_for_the_file(tmp_path: Path) -> None:
    (tmp_path / "Charades_v1_test.csv").write_bytes(b"id,length\nAO8RW,30.5\nBX2CV,\xff12\n")
    path = tmp_path / "charades_sta_test.txt"
    path.write_text("AO8RW 0.0 6.9##a person puts a book away.\n")
    samples, errors = _read("charades_sta", path, durations="Charades_v1_test.csv")
    assert samples == [] and len(errors) == 1 and errors[0].file.endswith("Charades_v1_test.csv")
