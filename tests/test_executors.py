"""The same pure per-video function in a local process pool gives the serial run's dataset (Ray: test_cluster.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from vcprep.core.config import load_pipeline
from vcprep.pipeline import run_pipeline

pytestmark = pytest.mark.slow  # renders with the real detector in a process pool and on a local Ray


def _recipe(tmp: Path, media: Path) -> Path:
    ann = tmp / "ann.jsonl"
    ann.write_text("\n".join(json.dumps(r) for r in [
        {"id": "bikes-1", "video": "bikes.mp4", "question": "When does the cyclist pass?", "span_seconds": [2, 6],
         "task": "temporal_qa"},
        {"id": "mega-1", "video": "Megamind.avi", "question": "When does he speak?", "span_seconds": [1, 5],
         "task": "temporal_qa"},
    ]) + "\n")
    recipe = tmp / "p.yaml"
    recipe.write_text(
        f"name: exec\nsource: {{name: jsonl, annotations: {ann}, data_root: {media}}}\n"
        "decode: {track_fps: 2.0}\nsampling: {fps: 1.0, max_frames: 6}\n"
        "tracker: {name: bytetrack, params: {frame_rate: 2.0}}\n"
        "variants: [raw, boxes]\noutput: {max_side: 320}\n"
    )
    return recipe


def _content(out: Path) -> list[dict]:
    rows = []
    for shard in sorted((out / "data").glob("*.parquet")):
        rows += pq.read_table(shard).to_pylist()
    return sorted(rows, key=lambda r: (r["sample_id"], r["variant"]))


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> tuple[Path, list[dict]]:
    """The serial run the pool is compared with, rendered once for the module: (recipe, rows)."""
    tmp = tmp_path_factory.mktemp("serial")
    recipe = _recipe(tmp, media_dir)
    summary = run_pipeline(load_pipeline(recipe), tmp / "serial", workers=1, progress=False)
    assert summary.failed == 0 and summary.samples_written == 2
    rows = _content(tmp / "serial")
    assert len(rows) == 4
    return recipe, rows


def test_a_process_pool_agrees_with_a_serial_run(tmp_path: Path, serial: tuple) -> None:
    recipe, expected = serial
    other = run_pipeline(load_pipeline(recipe), tmp_path / "pool", workers=2, progress=False)
    assert other.failed == 0 and other.samples_written == 2
    assert _content(tmp_path / "pool") == expected


def test_render_refuses_an_unknown_executor_before_reading_the_recipe(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vcprep.cli import app

    done = CliRunner().invoke(app, ["render", str(tmp_path / "absent.yaml"), "--out", str(tmp_path / "o"),
                                    "--executor", "dask"])
    # the deciding line: usage exit code 2 naming the option and the value, before the (absent) recipe is opened
    assert done.exit_code == 2 and "--executor must be `local` or `ray`, got 'dask'" in done.output
