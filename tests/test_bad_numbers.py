"""A number no video can hold, in any field of any record, is that record's error; the run goes on.

Upstream annotation files are JSON written by others: `1e400` parses as infinity, `1e308` is finite until it
is multiplied by a rate, and a frame index of 10^20 does not fit the int64 arrays of the detectors. Each once
aborted the whole run with an OverflowError. Also here: the source plug-in named by the recipe is checked at
load like detectors and trackers, and `--limit` takes no negative count.

Real sources read real files written here (copies of the fixtures with one number changed); the render runs
the real pipeline on a real video; the CLI runs as a real subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from shard_recipes import good_records, write_recipe

from vcprep.core.config import ConfigError, PipelineConfig, SourceConfig, load_pipeline
from vcprep.core.errors import ErrorRecord
from vcprep.core.types import Sample
from vcprep.pipeline import run_pipeline
from vcprep.plugins import check_names
from vcprep.sources.plan import plan_jobs

FIX = Path(__file__).parent / "fixtures"


def _plan(tmp_path: Path, name: str, annotations: Path, **params: object) -> tuple[list[Sample], list[ErrorRecord]]:
    cfg = PipelineConfig(name="t", source=SourceConfig(name=name, annotations=str(annotations), params=params),
                         base_dir=str(tmp_path))
    jobs, errors = plan_jobs(cfg)
    return [s for j in jobs for s in j.samples], errors


def _with_number(records: list, path: Path, placeholder: str, number: str) -> Path:
    """The records as JSON with the string `placeholder` replaced by a bare JSON number (json.dumps cannot
    write 1e400, which Python's parser then reads as inf)."""
    path.write_text(json.dumps(records).replace(f'"{placeholder}"', number))
    return path


def test_vidstg_tid_of_1e400_is_one_record_error(tmp_path: Path) -> None:
    records = json.loads((FIX / "vidstg/train_annotations.json").read_text())
    copy = json.loads(json.dumps(records[0]))  # the good first record again, with one tid of 1e400
    copy["subject/objects"][1]["tid"] = "BIG"
    ann = _with_number([*records, copy], tmp_path / "train_annotations.json", "BIG", "1e400")
    vidor = FIX / "vidstg/vidor_annotations"
    good, good_errors = _plan(tmp_path, "vidstg", FIX / "vidstg/train_annotations.json", vidor_dir=str(vidor))
    samples, errors = _plan(tmp_path, "vidstg", ann, vidor_dir=str(vidor))
    assert [s.sample_id for s in samples] == [s.sample_id for s in good] and len(errors) == len(good_errors) + 1
    (bad,) = [e for e in errors if "tid" in e.reason]
    assert "subject/objects tid is not finite: inf" in bad.reason  # the record, named; not an OverflowError


def test_vstar_fps_of_1e308_is_one_record_error(tmp_path: Path) -> None:
    records = json.loads((FIX / "vstar/V_STaR_test.json").read_text())
    records.append({**records[0], "vid": "huge_fps", "fps": "HUGE"})  # its bbox at timestamp 9.4 needs a frame
    ann = _with_number(records, tmp_path / "V_STaR_test.json", "HUGE", "1e308")
    samples, errors = _plan(tmp_path, "vstar", ann, chains=["what", "when", "where"])
    (bad,) = [e for e in errors if "fps" in e.reason and "1e+308" in e.reason]
    assert "(0, 1000]" in bad.reason
    assert {s.sample_id for s in samples} >= {"vstar-0-vtest_clip-where", "vstar-0-vtest_clip-when"}
    assert not any("huge_fps" in s.video_path for s in samples)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("boxes", {str(10**20): [1, 2, 30, 40]}, "frame index 100000000000000000000 is outside"),
    ("boxes", {"5": [1, 2, 1e300, 40]}, "box on frame 5 [1.0, 2.0, 1e+300, 40.0] has a coordinate outside"),
    ("span_seconds", [1.0, 1e300], "span time 1e+300 is outside"),
    ("x_weight", 10**30, "extra.x_weight 1000000000000000000000000000000 does not fit in int64"),
])
def test_jsonl_numbers_out_of_any_video_are_one_record_error(tmp_path: Path, field: str, value: object,
                                                             words: str) -> None:
    ann = tmp_path / "ann.jsonl"
    bad = {"id": "bad", "video": "vtest.avi", "question": "Who?", field: value}
    ann.write_text(json.dumps(bad) + "\n" + json.dumps({"id": "ok", "video": "vtest.avi", "question": "Who?"}) + "\n")
    samples, errors = _plan(tmp_path, "jsonl", ann)
    assert [s.sample_id for s in samples] == ["ok"]
    assert len(errors) == 1 and errors[0].sample_id == "bad" and words in errors[0].reason, errors


def test_gt_detector_render_records_a_box_on_frame_1e20_and_finishes(tmp_path: Path, media_dir: Path) -> None:
    """`detector: gt` builds its detector from the samples' boxes: a box on frame 10^20 once aborted the run
    there (int64 overflow) although the sample had been read."""
    records = good_records()[4:6]  # bikes.mp4: two short clips
    boxes = {"10": [100, 80, 160, 200], "12": [104, 80, 164, 200]}
    records[0] = {**records[0], "boxes": {**boxes, str(10**20): [1, 2, 30, 40]}}
    recipe = write_recipe(tmp_path, media_dir, records, detector={"name": "gt"}, variants=["raw"])
    out = tmp_path / "out"
    summary = run_pipeline(load_pipeline(recipe), out, progress=False)
    assert summary.samples_written == 1 and summary.failed == 1
    (line,) = (out / "meta/errors.jsonl").read_text().splitlines()
    error = json.loads(line)
    assert error["sample_id"] == "bikes-a" and "frame index 100000000000000000000" in error["reason"]


def _recipe(tmp_path: Path, **source: object) -> Path:
    (tmp_path / "ann.jsonl").write_text(json.dumps({"id": "a", "video": "vtest.avi", "question": "Who?"}) + "\n")
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "source": {"name": "jsonl", "annotations": "ann.jsonl", **source}}))
    return path


@pytest.mark.parametrize(("source", "words"), [
    ({"name": "jsonll"}, "source.name: unknown source 'jsonll'; known: charades_sta, hcstvg, jsonl"),
    ({"params": {"bogus": 1}}, "source.params (jsonl): source 'jsonl': bad parameters"),
    ({"name": "vidstg", "params": {"sentences": "all"}}, "source.params (vidstg): vidstg sentences must be both"),
])
def test_unknown_source_or_bad_parameters_fail_with_the_plugins_before_any_model(tmp_path: Path, source: dict,
                                                                                words: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_names(load_pipeline(_recipe(tmp_path, **source)))  # what render and the Ray driver check first
    assert words in str(info.value)


def test_cli_render_and_track_refuse_an_unknown_source_with_exit_2(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, name="jsonll")
    out = tmp_path / "out"
    running = [subprocess.Popen([sys.executable, "-m", "vcprep.cli", command, str(recipe), "--out", str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for command in ("render", "track")]  # side by side: each pays its own interpreter start
    for proc in running:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2 and "source.name: unknown source 'jsonll'" in stderr, stderr
        assert "Traceback" not in stderr
    assert not out.exists()


def test_a_negative_limit_is_refused_not_read_as_all_but_the_last(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    done = subprocess.run([sys.executable, "-m", "vcprep.cli", "render", str(recipe), "--out", str(tmp_path / "o"),
                           "--limit", "-1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--limit" in done.stderr and not (tmp_path / "o").exists()
    with pytest.raises(ConfigError, match="--limit: -1 is not allowed"):
        run_pipeline(load_pipeline(recipe), tmp_path / "o", limit=-1, progress=False)
    assert not (tmp_path / "o").exists()
