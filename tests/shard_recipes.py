"""Small real recipes for the shard tests: real videos, real HOG + ByteTrack, cheap settings.

Kept out of conftest.py so only the shard tests pay for them. Each recipe is written into a
temporary folder with its own data root, so tests can add damaged files beside the good ones.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO_BOXES = json.loads((ROOT / "pipelines/annotations/vtest_demo.jsonl").read_text().splitlines()[0])["boxes"]


# Boxes for the other samples: an ID query needs at least one ground-truth box (a span alone names no
# target and is refused). vtest boxes are ssdlite's person boxes on those frames, one walker followed;
# bikes-a's is the red car at the top right of frame 25 (checked by eye), bikes-b's the multi-class ground
# truth's car 41 (tests/fixtures/multiclass_mot/bikes.txt, MOT frames 151 and 161: frame indices 150 and 160).
CROSSING_BOXES = {"190": [270, 190, 315, 288], "200": [214, 189, 253, 269], "210": [149, 182, 183, 258]}


def good_records() -> list[dict[str, Any]]:
    """Six samples over two real videos (vtest.avi: people walking; bikes.mp4: street)."""
    return [
        {"id": "vtest-a", "video": "vtest.avi", "question": "Who walks alone up the path?",
         "span_seconds": [4.6, 10.6], "clip_seconds": [2.0, 14.0], "objects": ["man"], "boxes": DEMO_BOXES},
        {"id": "vtest-b", "video": "vtest.avi", "question": "Who crosses from the left?",
         "span_seconds": [20.0, 24.0], "clip_seconds": [18.0, 26.0], "objects": ["person"],
         "boxes": {"200": CROSSING_BOXES["200"], "210": CROSSING_BOXES["210"]}},
        {"id": "vtest-c", "video": "vtest.avi", "question": "Who stands near the door?",
         "span_seconds": [40.0, 44.0], "clip_seconds": [38.0, 46.0], "objects": ["person"],
         "boxes": {"400": [269, 191, 306, 288], "420": [292, 200, 326, 296], "440": [295, 198, 323, 295]}},
        {"id": "vtest-d", "video": "vtest.avi", "question": "Who walks down the steps?",
         "span_seconds": [60.0, 63.0], "clip_seconds": [58.0, 66.0], "objects": ["person"],
         "boxes": {"600": [640, 300, 673, 420], "615": [635, 301, 675, 421]}},
        {"id": "bikes-a", "video": "bikes.mp4", "question": "Which red car waits at the top right?",
         "span_seconds": [1.0, 4.0], "clip_seconds": [0.0, 6.0], "objects": ["car"],
         "boxes": {"25": [521, 0, 640, 72]}},
        {"id": "bikes-b", "video": "bikes.mp4", "question": "Which car drives by at the end?",
         "span_seconds": [6.0, 9.0], "clip_seconds": [4.0, 10.0], "objects": ["car"],
         "boxes": {"150": [215, 88, 392, 190], "160": [296, 96, 437, 171]}},
    ]


def write_recipe(
    folder: Path, media_dir: Path, records: list[dict[str, Any]], *, samples_per_shard: int = 1,
    extra_files: dict[str, bytes] | None = None, output: dict[str, Any] | None = None, **overrides: Any,
) -> Path:
    """Write data/ (links to the real media plus `extra_files`), annotations and recipe.yaml.

    `overrides` replace top-level recipe keys (`variants`, `sampling`, ...).
    """
    data = folder / "data_root"
    data.mkdir(parents=True, exist_ok=True)
    for name in ("vtest.avi", "bikes.mp4", "Megamind_bugy.avi"):
        link = data / name
        if not link.exists():  # a hard link, not a symlink: a symlink resolves outside the data root
            try:
                os.link(media_dir / name, link)
            except OSError:
                shutil.copyfile(media_dir / name, link)
    for name, content in (extra_files or {}).items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(content)
    ann = folder / "ann.jsonl"
    ann.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    recipe = {
        "name": "shard-test",
        "source": {"name": "jsonl", "annotations": "ann.jsonl", "data_root": "data_root"},
        "decode": {"backend": "cv2", "track_fps": 2.0},
        "sampling": {"fps": 1.0, "max_frames": 6},
        "detector": {"name": "hog", "params": {"scale": 1.1, "min_confidence": 0.3, "resize": 0.5}},
        "tracker": {"name": "bytetrack", "params": {"frame_rate": 2.0, "lost_track_buffer": 4,
                                                    "track_activation_threshold": 0.5,
                                                    "high_conf_det_threshold": 0.5,
                                                    "minimum_consecutive_frames": 2}},
        # cheap HOG misses vtest-a's man, whose boxes are given: seeded from them, so his sample is written
        # (a target no track matches is otherwise refused), and the shard mechanics see a full row
        "postprocess": {"min_track_length": 2, "seed_targets": True},
        "variants": ["raw", "id_tags"],
        "output": {"max_side": 256, "jpeg_quality": 85, "samples_per_shard": samples_per_shard,
                   "license": "bsd-3-clause", **(output or {})},
    }
    recipe.update(overrides)
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def render_small(folder: Path, media_dir: Path, records: list[dict[str, Any]] | None = None, **kw: Any) -> Path:
    """Render the small recipe in this process (about 3 s) and return the dataset folder."""
    from vcprep.core.config import load_pipeline
    from vcprep.pipeline import run_pipeline

    recipe = write_recipe(folder, media_dir, records or good_records(), **kw)
    out = folder / "out"
    summary = run_pipeline(load_pipeline(recipe), out, progress=False)
    assert summary.failed == 0, summary.errors
    return out
