"""Previews of a real (small) dataset: the contact sheet PNG and the H.264 MP4 of one variant,
through the `vcprep preview` command a person would type."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import yaml

VARIANTS = ["raw", "id_tags", "id_tags+spotlight", "frame_numbers"]


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    """vtest.avi, first 4 s, one walker annotated every 5 frames; the ground-truth detector makes it fast."""
    from vcprep.core.config import load_pipeline
    from vcprep.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("preview")
    # frame 0..40 of the walker near (250, 215)-(290, 310) at 768x576, drifting left slowly
    boxes = {str(f): [250 - f * 0.4, 215, 290 - f * 0.4, 310] for f in range(0, 41, 5)}
    record = {"id": "walker", "video": "vtest.avi", "task": "stvg", "question": "Who walks on the left?",
              "span_seconds": [1.0, 3.0], "clip_seconds": [0.0, 4.0], "objects": ["man"], "boxes": boxes}
    (root / "ann.jsonl").write_text(json.dumps(record) + "\n")
    recipe = {
        "name": "preview-test",
        "source": {"name": "jsonl", "annotations": "ann.jsonl", "data_root": str(media_dir)},
        # boxes every 5th frame, tracked at 5 fps: interpolated between them, so the walker is one track
        "detector": {"name": "gt", "params": {"interpolate_max_gap": 5}},
        "sampling": {"fps": 2.0, "max_frames": 8},
        "variants": VARIANTS,
        "output": {"max_side": 320},
    }
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    summary = run_pipeline(load_pipeline(root / "recipe.yaml"), root / "ds", progress=False)
    assert summary.failed == 0, summary.errors
    return root / "ds"


def test_preview_writes_a_contact_sheet_and_an_h264_mp4_of_one_variant(small_dataset: Path, tmp_path: Path) -> None:
    png = tmp_path / "sheet.png"
    res = subprocess.run(
        [sys.executable, "-m", "vcprep.cli", "preview", str(small_dataset), "--out", str(png), "--frames", "3",
         "--width", "200", "--mp4", "id_tags+spotlight"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    sheet = cv2.imread(str(png))
    assert sheet.shape[1] == 3 * 200 and sheet.shape[0] >= len(VARIANTS) * 140
    movie = tmp_path / "sheet_id_tags_spotlight.mp4"
    assert movie.is_file(), res.stdout
    with av.open(str(movie)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert abs(float(stream.average_rate) - 2.0) < 0.01  # plays at the sampled rate
    from vcprep.dataset.preview import decode_frame, sample_rows

    rows, _ = sample_rows(small_dataset, None, ["frames"])
    stored = [decode_frame(f["bytes"]) for f in next(r for r in rows if r["variant"] == "id_tags+spotlight")["frames"]]
    assert len(frames) == len(stored)
    for got, want in zip(frames, stored):  # the movie shows the stored frames (H.264 is lossy: close, not equal)
        assert got.shape[:2] == (want.shape[0] + want.shape[0] % 2, want.shape[1] + want.shape[1] % 2)
        diff = np.abs(got[: want.shape[0], : want.shape[1]].astype(int) - want).mean()
        assert diff < 6, diff


def test_preview_names_a_missing_variant(small_dataset: Path, tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "vcprep.cli", "preview", str(small_dataset), "--out", str(tmp_path / "s.png"),
         "--mp4", "sparkles"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode != 0
    assert "sparkles" in res.stderr and "id_tags" in res.stderr
