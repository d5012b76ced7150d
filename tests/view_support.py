"""Datasets and a browser for the `vcprep view` tests and bench.

- `write_synthetic_dataset`: N samples in the shard format, fast (rows built column-wise, tiny JPEG frames
  shared between samples), each sample's fields a fixed function of its number so tests can count by hand;
- `derived_dataset`: the demo dataset's real rows written again under edits through the real ShardWriter;
- `chromium`: headless Debian chromium driven by Selenium through chromedriver.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vcprep.dataset.card import dataset_stats
from vcprep.dataset.info import DatasetInfo, load_info, write_info
from vcprep.dataset.reader import iter_rows
from vcprep.dataset.writers import ShardWriter
from vcshard.hashing import row_content_hash, sha256_file
from vcshard.layout import MANIFEST_PATH
from vcshard.manifest import load_manifest
from vcshard.schema import arrow_schema, check_row_columns

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TASKS = ("stvg", "stvg", "stvg", "temporal_grounding")
SOURCES = ("hcstvg", "vidstg", "jsonl")


def synthetic_fields(i: int) -> dict[str, Any]:
    """Sample number i: task cycles over TASKS (i % 4), source over SOURCES (i % 3), ten samples a video,
    every fifth sample (i % 5 == 0) has its target unmatched, oracle vIoU = (i % 10) / 10 + 0.05."""
    matched = i % 5 != 0
    target = (i % 3) + 1 if matched else None
    return {
        "sample_id": f"syn-{i:06d}", "task": TASKS[i % 4], "source": SOURCES[i % 3],
        "video_path": f"video-{i // 10:05d}.mp4", "target_id": target,
        "oracle_viou": (i % 10) / 10 + 0.05, "oracle_tiou": 0.5,
        "meta": json.dumps({"clip_span_seconds": [0.0, 4.0], "match_votes": {str(target or 1): 2},
                            "template_version": 1}, sort_keys=True),
    }  # fmt: skip


def _jpeg(colour: tuple[int, int, int], size_px: tuple[int, int] = (64, 48), noise: np.random.Generator | None = None,
          ) -> bytes:
    width, height = size_px
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = colour
    if noise is not None:  # a frame of its own that compresses like a photograph, not like a flat colour
        image = noise.integers(0, 256, (height, width, 3), dtype=np.uint8) // 2 + image // 2
    cv2.rectangle(image, (8, 8), (40, 40), (255, 255, 255), 2)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def _row(i: int, variant: str, frames: list[bytes]) -> dict[str, Any]:
    f = synthetic_fields(i)
    boxes = [[4.0 + t, 4.0, 20.0 + t, 30.0] for t in (1, 2, 3)]  # integers and halves: exact in float32
    frame_indices = [0, 10, 20, 30]
    return {
        "sample_id": f["sample_id"], "variant": variant, "source": f["source"], "task": f["task"],
        "video_path": f["video_path"], "video_fps": 10.0, "video_duration_seconds": 4.0,
        "source_width": 64, "source_height": 48, "frame_width": 64, "frame_height": 48,
        "question": f"Which object moves in sample {i}?", "hint": "", "system_prompt": "", "user_prompt": "<video>",
        "answer": "Target ID: 1, Time range: 1.00 to 3.00", "target_id": f["target_id"],
        "gt_span_seconds": [1.0, 3.0], "gt_frame_indices": [10, 20], "gt_pts_seconds": [1.0, 2.0],
        "gt_boxes": [[5.0, 4.0, 21.0, 30.0], [6.0, 4.0, 22.0, 30.0]], "object_names": ["thing"], "options": [],
        "frames": [{"bytes": b, "path": f"{f['sample_id']}/{variant}/{k:06d}.jpg"} for k, b in enumerate(frames)],
        "frame_indices": frame_indices, "pts_seconds": [x / 10 for x in frame_indices],
        "key_frame": [False, True, True, False],
        "frame_track_ids": [[1, 2, 3]] * 4, "frame_track_boxes": [boxes] * 4,
        "tube_frame_indices": [x for x in frame_indices for _ in range(3)],
        "tube_pts_seconds": [x / 10 for x in frame_indices for _ in range(3)],
        "tube_track_ids": [1, 2, 3] * 4, "tube_boxes": boxes * 4,
        "target_match": "strict" if f["target_id"] else None, "target_votes": 2 if f["target_id"] else None,
        "target_frames_annotated": 2, "target_mean_iou": 0.9 if f["target_id"] else None,
        "oracle_tiou": f["oracle_tiou"], "oracle_viou": f["oracle_viou"], "meta": f["meta"], "row_sha256": None,
    }  # fmt: skip


def write_synthetic_dataset(root: Path, num_samples: int, *, variants: tuple[str, ...] = ("raw", "id_tags"),
                            samples_per_shard: int = 1000, samples_per_row_group: int = 100,
                            unique_frames_px: tuple[int, int] | None = None) -> Path:
    """A dataset folder of `num_samples` synthetic samples that `vcprep verify` accepts (row hashes, manifest
    sha256, info counts), written column-wise in a few seconds for 10,000 samples.

    Four frames a row: one tiny JPEG per variant shared by all rows, or with `unique_frames_px` (width, height)
    noisy frames of that size, different in every row (a dataset whose frames weigh what real ones do)."""
    schema = arrow_schema()
    shared = {v: [_jpeg((40 * k % 255, 90, 160))] * 4 for k, v in enumerate(variants)}
    noise = np.random.default_rng(0)

    def frames(v: str) -> list[bytes]:
        if unique_frames_px is None:
            return shared[v]
        return [_jpeg((40 * k % 255, 90, 160), unique_frames_px, noise) for k in range(4)]

    (root / "data").mkdir(parents=True, exist_ok=True)
    manifest = []
    for shard_index, first in enumerate(range(0, num_samples, samples_per_shard)):
        rel = f"data/shard-{shard_index:05d}.parquet"
        ids = list(range(first, min(num_samples, first + samples_per_shard)))
        groups = 0
        with pq.ParquetWriter(root / rel, schema, compression="zstd", write_page_index=True) as writer:
            for g in range(0, len(ids), samples_per_row_group):
                rows = [_row(i, v, frames(v)) for i in ids[g : g + samples_per_row_group] for v in variants]
                for row in rows:
                    check_row_columns(row, f"synthetic sample {row['sample_id']}")  # a new column must be filled here
                    row["row_sha256"] = row_content_hash(row)
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                groups += 1
        manifest.append({"shard": rel, "sample_ids": [f"syn-{i:06d}" for i in ids],
                         "num_rows": len(ids) * len(variants),
                         "num_row_groups": groups, "sha256": sha256_file(root / rel),
                         "bytes": (root / rel).stat().st_size})  # fmt: skip
    (root / MANIFEST_PATH).parent.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST_PATH).write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in manifest))
    rows = num_samples * len(variants)
    write_info(root, DatasetInfo(
        name=f"synthetic-{num_samples}", num_samples=num_samples, num_rows=rows, num_frames=rows * 4,
        num_shards=len(manifest), variants=list(variants),
        stats={"num_samples": num_samples, "num_rows": rows, "num_frames": rows * 4,
               "num_videos": (num_samples + 9) // 10, "rows_per_variant": dict.fromkeys(variants, num_samples)},
    ))  # fmt: skip
    return root


def derived_dataset(demo: Path, out: Path, edits: list[Callable[[dict[str, Any]], dict[str, Any] | None]]) -> Path:
    """The demo dataset's rows written again through ShardWriter, once per edit (an edit returns the changed row,
    or None to leave the row out), with info.json and the statistics read back from the written shards."""
    rows = list(iter_rows(demo))
    writer = ShardWriter(out, samples_per_shard=2)
    for edit in edits:
        changed = [r for r in (edit(dict(row)) for row in rows) if r is not None]
        if changed:
            writer.write_sample(changed[0]["sample_id"], changed)
    writer.close()
    source = load_info(demo)
    stats = dataset_stats(out)
    stats.pop("video_paths")
    write_info(out, DatasetInfo(
        name=f"{source.name}-derived", num_samples=stats["num_samples"], num_rows=stats["num_rows"],
        num_frames=stats["num_frames"], num_shards=len(load_manifest(out)),
        variants=source.variants, stats=stats,
    ))  # fmt: skip
    return out


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """A real HTTP server on a free localhost port around a ViewApp; yields its base address."""
    from vcprep.view.server import make_server

    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium(width: int = 1400, height: int = 1500) -> Iterator[Any]:
    """Headless Debian chromium through Selenium (installed by `make browser`)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
