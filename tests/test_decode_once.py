"""Each frame a video's samples need is decoded once and detected once, whatever the number of
samples and variants; a recipe mistake fails before any video is read.

Real vtest.avi, real HOG + ByteTrack; the decoder and the detector are wrapped only to count
what they do (the real ones still run).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from shard_recipes import write_recipe

import vcprep.decode.frame_pass as frame_pass
from vcprep.core.config import ConfigError, load_pipeline
from vcprep.decode.video import read_frames
from vcprep.pipeline import run_pipeline
from vcprep.track.detectors.hog import HOGPersonDetector

CLIPS = [(2.0, 8.0), (4.0, 10.0), (6.0, 12.0), (30.0, 34.0), (31.0, 33.0)]  # three overlap, two overlap
VARIANTS = ["raw", "id_tags", "boxes", {"name": "crop", "renderers": [{"name": "temporal_crop",
                                                                        "margin_seconds": 0.5}]}]


def _records(n: int) -> list[dict]:
    # a span question (no target ID to match): the rows depend on the frames and tracks alone
    return [{"id": f"q{i}", "video": "vtest.avi", "question": f"When does someone walk? ({i})", "task": "temporal_qa",
             "span_seconds": [c[0] + 1.0, c[1] - 1.0], "clip_seconds": list(c)} for i, c in enumerate(CLIPS[:n])]


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Counter]:
    counts: dict[str, Counter] = {"decoded": Counter(), "detected": Counter()}

    def counting_read(path, frame_indices, *, backend="cv2"):
        for frame in read_frames(path, frame_indices, backend=backend):
            counts["decoded"][frame.frame_index] += 1
            yield frame

    real_detect = HOGPersonDetector.detect

    def counting_detect(self, image):
        counts["detected"]["calls"] += 1
        return real_detect(self, image)

    monkeypatch.setattr(frame_pass, "read_frames", counting_read)
    monkeypatch.setattr(HOGPersonDetector, "detect", counting_detect)
    return counts


def _render(tmp_path: Path, media_dir: Path, n_samples: int, variants: list) -> tuple[Path, object]:
    recipe = write_recipe(tmp_path / f"r{n_samples}-{len(variants)}", media_dir, _records(n_samples),
                          variants=variants, samples_per_shard=10)
    out = recipe.parent / "out"
    summary = run_pipeline(load_pipeline(recipe), out, progress=False)
    assert summary.failed == 0, summary.errors
    return out, summary


def test_each_needed_frame_is_decoded_and_detected_once(tmp_path: Path, media_dir: Path,
                                                        counted: dict[str, Counter]) -> None:
    _, summary = _render(tmp_path, media_dir, 5, VARIANTS)
    stats = summary.video_stats[0]
    decoded = counted["decoded"]
    assert decoded and max(decoded.values()) == 1, "a frame was decoded twice"
    assert sum(decoded.values()) == stats.frames_decoded
    # detection ran once per tracked frame, and only on the samples' clips plus the margin (2 s)
    assert counted["detected"]["calls"] == stats.frames_detected == stats.frames_tracked
    tracked_seconds = [f / 10.0 for f in decoded]  # vtest.avi is 10 fps
    assert min(tracked_seconds) >= 0.0 and max(tracked_seconds) <= 36.0 + 1e-6
    assert not any(14.0 + 1e-6 < t < 28.0 - 1e-6 for t in tracked_seconds), "frames between the clips were read"
    # one sample with one variant over the same clips decodes a subset, never more per frame
    counted["decoded"].clear()
    counted["detected"].clear()
    _render(tmp_path, media_dir, 1, ["raw"])
    assert max(counted["decoded"].values()) == 1
    assert sum(counted["decoded"].values()) < stats.frames_decoded


def test_rows_do_not_depend_on_how_many_samples_share_the_video(tmp_path: Path, media_dir: Path) -> None:
    """Sample q3 rendered alone and together with four others: the same rows (its segment is tracked alike)."""
    import pyarrow.parquet as pq

    def rows_of(out: Path, sample_id: str) -> list[str]:
        table = pq.read_table(next((out / "data").glob("*.parquet")), columns=["sample_id", "row_sha256"])
        return [h for s, h in zip(table.column("sample_id").to_pylist(), table.column("row_sha256").to_pylist())
                if s == sample_id]

    many, _ = _render(tmp_path, media_dir, 5, ["raw", "id_tags"])
    records = [r for r in _records(5) if r["id"] in ("q3", "q4")]
    recipe = write_recipe(tmp_path / "alone", media_dir, records, variants=["raw", "id_tags"], samples_per_shard=10)
    run_pipeline(load_pipeline(recipe), recipe.parent / "out", progress=False)
    assert rows_of(many, "q3") == rows_of(recipe.parent / "out", "q3") and len(rows_of(many, "q3")) == 2


@pytest.mark.parametrize(("override", "named"), [
    ({"variants": ["raw", "spotlite"]}, "spotlite"),
    ({"variants": ["raw", {"name": "dim", "renderers": [{"name": "spotlight", "fctor": 0.3}]}]}, "variants[1] (dim)"),
    ({"detector": {"name": "hogg"}}, "detector.name"),
    ({"tracker": {"name": "bytetrak"}}, "tracker.name"),
])
def test_a_recipe_mistake_fails_before_any_video_is_read(tmp_path: Path, media_dir: Path,
                                                          counted: dict[str, Counter], override: dict,
                                                          named: str) -> None:
    recipe = write_recipe(tmp_path, media_dir, _records(1), **override)
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        run_pipeline(load_pipeline(recipe), tmp_path / "out", progress=False)
    assert not counted["decoded"] and not (tmp_path / "out" / "data").exists()


def test_a_misspelt_recipe_key_is_named(tmp_path: Path, media_dir: Path) -> None:
    recipe = write_recipe(tmp_path, media_dir, _records(1), sampling={"fsp": 2.0})
    with pytest.raises(ConfigError, match="fsp"):
        load_pipeline(recipe)
