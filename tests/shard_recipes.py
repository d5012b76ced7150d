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


# An ID query needs at least one ground-truth box (a span alone names no target and is refused). vtest-b's
# boxes are ssdlite's person boxes on those frames, one walker followed; bikes-a's is the red car at the top right
# of frame 25 (checked by eye). The small recipe seeds a target from its boxes (a MIL tracker over the clip:
# the slow part of these renders), so the other samples ask span questions, which need no target.
CROSSING_BOXES = {"190": [270, 190, 315, 288], "200": [214, 189, 253, 269], "210": [149, 182, 183, 258]}


def good_records() -> list[dict[str, Any]]:
    """Six samples over two real videos (vtest.avi: people walking; bikes.mp4: street): three ID queries, three
    span questions."""
    return [
        {"id": "vtest-a", "video": "vtest.avi", "question": "Who walks alone up the path?",
         "span_seconds": [4.6, 10.6], "clip_seconds": [2.0, 14.0], "objects": ["man"], "boxes": DEMO_BOXES},
        {"id": "vtest-b", "video": "vtest.avi", "question": "Who crosses from the left?",
         "span_seconds": [20.0, 24.0], "clip_seconds": [18.0, 26.0], "objects": ["person"],
         "boxes": {"200": CROSSING_BOXES["200"], "210": CROSSING_BOXES["210"]}},
        {"id": "vtest-c", "video": "vtest.avi", "question": "When does someone stand near the door?",
         "task": "temporal_qa", "span_seconds": [40.0, 44.0], "clip_seconds": [38.0, 46.0]},
        {"id": "vtest-d", "video": "vtest.avi", "question": "When does someone walk down the steps?",
         "task": "temporal_qa", "span_seconds": [60.0, 63.0], "clip_seconds": [58.0, 66.0]},
        {"id": "bikes-a", "video": "bikes.mp4", "question": "Which red car waits at the top right?",
         "span_seconds": [1.0, 4.0], "clip_seconds": [0.0, 6.0], "objects": ["car"],
         "boxes": {"25": [521, 0, 640, 72]}},
        {"id": "bikes-b", "video": "bikes.mp4", "question": "When does a car drive by at the end?",
         "task": "temporal_qa", "span_seconds": [6.0, 9.0], "clip_seconds": [4.0, 10.0]},
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
