"""Every recipe mistake is named by its key before any video is read, and the CLI's exit
codes tell "bad inputs recorded" (1) from "usage/config" (2) from "could not proceed" (3).

Real recipes loaded by the real loader; the CLI runs as a real subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from shard_recipes import good_records, write_recipe

from vcprep.core.config import ConfigError, load_pipeline
from vcprep.core.errors import InputError
from vcprep.core.types import KeyItem, Sample, VideoInfo
from vcprep.render.rows import validate_sample

CLI = [sys.executable, "-m", "vcprep.cli"]


def _recipe(tmp_path: Path, **changes: object) -> Path:
    data = {"name": "t", "source": {"name": "jsonl", "annotations": "ann.jsonl"}}
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("changes", "key", "words"), [
    ({"sampling__fps": 0}, "sampling.fps", "must be in (0, 1000]"),
    ({"sampling__fps": float("nan")}, "sampling.fps", "must be in (0, 1000] and finite"),
    ({"output__image_format": "jpg2000"}, "output.image_format", "one of jpeg, png"),
    ({"output__jpeg_quality": 101}, "output.jpeg_quality", "in [1, 100]"),
    ({"decode__backend": "ffmpeg"}, "decode.backend", "one of cv2, av, decord"),
    ({"decode__track_fps": -1}, "decode.track_fps", "in (0, 1000]"),
    ({"match__min_iou": 1.5}, "match.min_iou", "in (0, 1]"),
    ({"match__convention": "majority"}, "match.convention", "one of strict, stvg_r1"),
    ({"sampling__max_frames": "many"}, "sampling.max_frames", "expected a number, got str"),
    ({"sampling__max_frames": 2.5}, "sampling.max_frames", "expected a whole number"),
    ({"output__workers": True}, "output.workers", "expected a number, got bool"),
    ({"source__annotations": ["a", "b"]}, "source.annotations", "expected str, got list"),
    ({"source__params": "x"}, "source.params", "expected dict, got str"),
    ({"variants": "raw"}, "variants", "expected a list"),
    ({"variants": [{"name": "v", "renderers": [{"params": {}}]}]}, "variants[0].renderers[0]", "mapping with 'name'"),
])
def test_value_types_and_ranges_are_named_by_key(tmp_path: Path, changes: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_pipeline(_recipe(tmp_path, **changes))
    assert key in str(info.value) and words in str(info.value)


def test_shipped_recipes_still_load() -> None:
    for path in sorted(Path(__file__).resolve().parents[1].glob("pipelines/*.yaml")):
        load_pipeline(path)


@pytest.mark.parametrize(("change", "key"), [
    ({"detector": {"name": "hogg"}}, "detector.name: unknown detector 'hogg'"),
    ({"tracker": {"name": "bytetrak"}}, "tracker.name: unknown tracker 'bytetrak'"),
    ({"variants": ["raw", "id_tags+spotlite"]}, "variants[1] (id_tags+spotlite).renderers[1]: unknown renderer"),
    ({"sampling": {"fps": 0}}, "sampling.fps"),
])
def test_cli_config_errors_exit_2_before_any_video(tmp_path: Path, media_dir: Path, change: dict, key: str) -> None:
    recipe = write_recipe(tmp_path, media_dir, good_records(), **change)
    out = tmp_path / "out"
    done = subprocess.run([*CLI, "render", str(recipe), "--out", str(out), "-q"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert key in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()  # refused before the folder, the detector or any video was touched


def test_cli_refuses_an_empty_annotation_file_with_exit_2(tmp_path: Path, media_dir: Path) -> None:
    recipe = write_recipe(tmp_path, media_dir, [])
    done = subprocess.run([*CLI, "render", str(recipe), "--out", str(tmp_path / "out"), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "ann.jsonl: no records" in done.stderr, done.stderr
    assert not (tmp_path / "out" / "meta" / "info.json").exists()  # no empty dataset that would verify


def test_cli_track_refuses_an_unusable_annotation_file_with_exit_2(tmp_path: Path, media_dir: Path) -> None:
    recipe = write_recipe(tmp_path, media_dir, ["not json", '{"id": "no-video"}'])
    done = subprocess.run([*CLI, "track", str(recipe), "--out", str(tmp_path / "cache"), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no usable record (2 bad" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


INFO = VideoInfo(path="v.mp4", fps=10.0, frame_count=100, width=320, height=240)  # 10 s


@pytest.mark.parametrize(("sample", "words"), [
    (Sample("a", "v.mp4", "q", gt_span_seconds=(8.0, 14.0)), "ends after the video ends"),
    (Sample("b", "v.mp4", "q", gt_span_seconds=(11.0, 12.0)), "starts after the video ends"),
    (Sample("c", "v.mp4", "q", clip_span_seconds=(10.0, 20.0)), "wholly past the end"),
    (Sample("d", "v.mp4", "q", key_items=(KeyItem("man", 2.0, (1.0, 2.0, float("nan"), 4.0)),)), "not finite"),
    (Sample("e", "v.mp4", "q", key_items=(KeyItem("man", 30.0, (1.0, 2.0, 3.0, 4.0)),)), "after the video ends"),
])
def test_validate_sample_refuses_what_does_not_fit_the_video(sample: Sample, words: str) -> None:
    with pytest.raises(InputError, match=words):
        validate_sample(sample, INFO)


def test_validate_sample_accepts_a_span_ending_within_one_frame_of_the_end() -> None:
    validate_sample(Sample("ok", "v.mp4", "q", gt_span_seconds=(8.0, 10.1), clip_span_seconds=(5.0, 12.0)), INFO)
