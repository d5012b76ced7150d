"""The same pure per-video function under the local pool and Ray Data gives the same dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from vcprep.core.config import load_pipeline
from vcprep.pipeline import run_pipeline


def _recipe(tmp: Path, media: Path) -> Path:
    ann = tmp / "ann.jsonl"
    ann.write_text("\n".join(json.dumps(r) for r in [
        {"id": "bikes-1", "video": "bikes.mp4", "question": "When does the cyclist pass?", "span_seconds": [2, 6]},
        {"id": "mega-1", "video": "Megamind.avi", "question": "When does he speak?", "span_seconds": [1, 5]},
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
    """The serial run every executor is compared with, rendered once for the module: (recipe, rows)."""
    tmp = tmp_path_factory.mktemp("serial")
    recipe = _recipe(tmp, media_dir)
    summary = run_pipeline(load_pipeline(recipe), tmp / "serial", workers=1, progress=False)
    assert summary.failed == 0 and summary.samples_written == 2
    rows = _content(tmp / "serial")
    assert len(rows) == 4
    return recipe, rows


@pytest.mark.parametrize("executor,workers", [("local", 2), ("ray", 2)])
def test_executors_agree_with_a_serial_run(tmp_path: Path, serial: tuple, executor: str, workers: int) -> None:
    recipe, expected = serial
    other = run_pipeline(load_pipeline(recipe), tmp_path / executor, workers=workers, progress=False,
                         executor=executor)
    assert other.failed == 0 and other.samples_written == 2
    assert _content(tmp_path / executor) == expected
