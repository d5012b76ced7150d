"""meta/info.json and the README.md data card, generated from the shards themselves.

Statistics are read back from the written shards (not from the run's memory), so a resumed
run's card describes the whole dataset.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.parquet as pq
import yaml

from vcprep import __version__
from vcprep.core.classes import COCO_80
from vcprep.core.records import RunSummary, VideoStats
from vcprep.dataset.files import atomic_write_text
from vcprep.dataset.info import DatasetInfo, write_info
from vcprep.dataset.reader import shard_paths
from vcprep.sources.routing import TABLES, CategoryTable, uncovered_categories
from vcprep.track.quality import answer_ceiling_of_tube, fragmentation, length_distribution
from vcshard.layout import ERRORS_PATH, VIDEO_STATS_PATH
from vcshard.manifest import load_manifest, read_jsonl
from vcshard.schema import FORMAT_VERSION, hf_features

if TYPE_CHECKING:
    from vcprep.core.config import PipelineConfig

_STAT_COLUMNS = ["sample_id", "variant", "frame_indices", "video_path", "video_duration_seconds",
                 "target_id", "oracle_tiou", "oracle_viou", "tube_track_ids", "meta", "tube_frame_indices",
                 "tube_pts_seconds", "tube_boxes", "gt_frame_indices", "gt_boxes", "gt_span_seconds", "video_fps"]


def dataset_stats(root: Path) -> dict[str, Any]:
    samples: dict[str, dict[str, Any]] = {}
    variants: dict[str, int] = {}
    frames = 0
    rows = 0
    for path in shard_paths(root):
        table = pq.read_table(path, columns=_STAT_COLUMNS).to_pylist()
        for r in table:
            rows += 1
            frames += len(r["frame_indices"])
            variants[r["variant"]] = variants.get(r["variant"], 0) + 1
            samples.setdefault(r["sample_id"], r)
    oracle = [s["oracle_viou"] for s in samples.values() if s["oracle_viou"] is not None]
    with_gt = [s for s in samples.values() if s["oracle_viou"] is not None]
    ceilings = (answer_ceiling_of_tube(s["tube_frame_indices"], s["tube_pts_seconds"], s["tube_track_ids"],
                                       s["tube_boxes"], s["gt_frame_indices"], s["gt_boxes"], s["gt_span_seconds"],
                                       s["video_fps"]) for s in with_gt)
    answer = [a for a in ceilings if a is not None]
    ids_per_video = {s["video_path"]: len(set(s["tube_track_ids"])) for s in samples.values()}
    durations = {s["video_path"]: s["video_duration_seconds"] for s in samples.values()}
    return {
        "num_samples": len(samples),
        "num_rows": rows,
        "num_frames": frames,
        "num_videos": len(durations),
        "video_seconds": round(float(sum(durations.values())), 3),
        "rows_per_variant": dict(sorted(variants.items())),
        "target_matched_share": round(
            float(np.mean([s["target_id"] is not None for s in with_gt])), 4) if with_gt else None,
        "target_never_tracked_share": round(
            float(np.mean([s["oracle_viou"] == 0 for s in with_gt])), 4) if with_gt else None,
        "mean_oracle_viou": round(float(np.mean(oracle)), 4) if oracle else None,
        "mean_answer_ceiling_viou": round(float(np.mean(answer)), 4) if answer else None,
        "mean_oracle_tiou": round(float(np.mean([s["oracle_tiou"] for s in with_gt])), 4) if with_gt else None,
        "mean_ids_per_video": round(float(np.mean(list(ids_per_video.values()))), 2) if ids_per_video else 0,
        "video_paths": sorted(durations),
        "id_fragmentation": fragmentation([json.loads(s["meta"] or "{}").get("match_votes", {}) for s in with_gt]),
    }


def _file_sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def provenance(config: PipelineConfig) -> dict[str, Any]:
    versions = {}
    for pkg in ("vcprep", "numpy", "pyarrow", "opencv-python", "supervision", "trackers", "av",
                "ultralytics", "sam2", "torch"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            continue
    ann = config.resolve(config.source.annotations)
    return {
        "python": platform.python_version(),
        "packages": versions,
        "detector": {"name": config.detector.name, "params": config.detector.params},
        "tracker": {"name": config.tracker.name, "params": config.tracker.params},
        "config_hash": config.hash(),
        "annotation_files": {ann.name: _file_sha256(ann)},
    }


def count_errors(root: Path) -> int:
    path = root / ERRORS_PATH
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.is_file() else 0


def stored_video_stats(root: Path) -> dict[str, VideoStats]:
    """Per-video tracking stats of every run into this folder (the last record of a video wins).

    Read from disk, not from the run's memory, so the card of a resumed run covers the videos
    finished before the interruption too.
    """
    out: dict[str, VideoStats] = {}
    path = root / VIDEO_STATS_PATH
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                record = VideoStats.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError, AttributeError):
                continue
            out[record.video_path] = record
    return out


def finalize_dataset(root: Path, config: PipelineConfig, summary: RunSummary | None = None) -> DatasetInfo:
    stats = dataset_stats(root)
    per_video = stored_video_stats(root)
    if summary is not None:  # a run without the stats file (older writer) still reports its own videos
        for v in summary.video_stats:
            per_video.setdefault(v.video_path, v)
    in_dataset = set(stats.pop("video_paths"))
    lengths = [n for path, v in sorted(per_video.items()) if path in in_dataset for n in v.track_lengths]
    stats["track_length_frames"] = length_distribution(lengths)
    info = DatasetInfo(
        format_version=FORMAT_VERSION,
        name=config.name,
        created_by=f"vcprep {__version__}",
        num_samples=stats["num_samples"],
        num_rows=stats["num_rows"],
        num_frames=stats["num_frames"],
        num_shards=len(load_manifest(root)),
        num_errors=count_errors(root),
        variants=[v.name for v in config.variants],
        config=config.to_dict(),
        config_hash=config.hash(),
        features=hf_features(),
        stats=stats,
        provenance=provenance(config),
    )
    write_info(root, info)
    atomic_write_text(root / "README.md", render_card(info, config, root))  # a planted link is replaced, not followed
    return info


def _yaml_features() -> list[dict[str, Any]]:
    """The `dataset_info.features` list of a Hugging Face card header."""

    def conv(name: str | None, spec: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {} if name is None else {"name": name}
        if spec["_type"] == "Image":
            out["dtype"] = "image"
        elif spec["_type"] == "List":
            inner = conv(None, spec["feature"])
            out["list"] = inner.get("dtype", inner)
        else:
            out["dtype"] = spec["dtype"]
        return out

    return [conv(n, s) for n, s in hf_features().items()]


def unanswered_by_reason(errors: list[dict[str, Any]]) -> dict[str, int]:
    """Samples not written because their answer cannot be known (errors of stage `match`), by reason kind
    (`class not detectable`, `not detected`, `weak match`, `no ground-truth boxes`: the text before the first
    colon)."""
    out: dict[str, int] = {}
    for e in errors:
        if e.get("stage") == "match":
            kind = str(e.get("reason", "")).split(":", 1)[0]
            out[kind] = out.get(kind, 0) + 1
    return dict(sorted(out.items()))


def _unanswered(root: Path | None) -> str:
    if root is None:
        return "0"
    counts = unanswered_by_reason(read_jsonl(root / ERRORS_PATH))
    total = sum(counts.values())
    return f"{total}" + (" (" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + ")" if total else "")


def routing_table(source: str) -> str:
    """The source's class routing as Markdown: a table (a closed category set: category -> detector classes;
    free-text object names: detector class -> the words that map to it), then the categories or known words
    no detector class covers. Shown in the source's data card and in every generated card."""
    table = TABLES.get(source)
    if table is None:
        return f"The `{source}` source names no object targets: no class routing."
    if isinstance(table, CategoryTable):
        lines = ["| category | detector classes (COCO) |", "|---|---|",
                 *(f"| {name} | {', '.join(classes) if classes else '(none)'} |" for name, classes in table.rows())]
    else:
        by_class: dict[str, list[str]] = {}
        for word, classes in table.rows():
            for c in classes:
                by_class.setdefault(c, []).append(word)
        lines = ["| detector class (COCO) | words of an object name that map to it |", "|---|---|",
                 *(f"| {c} | {', '.join(sorted(by_class[c]))} |" for c in COCO_80 if c in by_class)]
    uncovered = uncovered_categories(source)
    return "\n".join([*lines, "", f"No detector class covers: {', '.join(uncovered) if uncovered else '(none)'}."])


def _by_stage(root: Path | None) -> str:
    if root is None or not (root / ERRORS_PATH).is_file():
        return ""
    stages: dict[str, int] = {}
    for line in (root / ERRORS_PATH).read_text().splitlines():
        try:
            stage = json.loads(line).get("stage", "?")
        except json.JSONDecodeError:
            continue
        stages[stage] = stages.get(stage, 0) + 1
    return "(" + ", ".join(f"{k}: {v}" for k, v in sorted(stages.items())) + ")" if stages else ""


def render_card(info: DatasetInfo, config: PipelineConfig, root: Path | None = None) -> str:
    header = {
        "license": config.output.license,
        "task_categories": config.output.task_categories,
        "tags": ["video", "visual-prompting", "grounding", "vcprep"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}],
        "dataset_info": {"features": _yaml_features(), "splits": [{"name": "train", "num_examples": info.num_rows}]},
    }
    s = info.stats
    variants = "\n".join(f"| `{k}` | {v} |" for k, v in s.get("rows_per_variant", {}).items())
    return f"""---
{yaml.safe_dump(header, sort_keys=False).strip()}
---

# {info.name}

Visual-prompt video grounding data built by `vcprep` (format {info.format_version}).
One row per (sample, prompt variant); all variants of a sample share one Parquet row group.
Column meanings: `data_cards/SCHEMA.md` of the vcprep repository.

## Contents

| statistic | value |
|---|---|
| samples | {s['num_samples']} |
| rows | {s['num_rows']} |
| stored frames | {s['num_frames']} |
| videos | {s['num_videos']} ({s['video_seconds']} s) |
| shards | {info.num_shards} |
| failed inputs | {info.num_errors} {_by_stage(root)} (see `meta/errors.jsonl`) |
| samples not written: no acceptable target | {_unanswered(root)} |

| variant | rows |
|---|---|
{variants}

## Tracking quality (the ceiling of ID-based answers)

| statistic | value |
|---|---|
| target matched to a track | {s.get('target_matched_share')} |
| target never tracked | {s.get('target_never_tracked_share')} |
| mean oracle vIoU (best single track) | {s.get('mean_oracle_viou')} |
| mean best ID + span answer vIoU (`vctrain eval` rules) | {s.get('mean_answer_ceiling_viou')} |
| mean oracle tIoU | {s.get('mean_oracle_tiou')} |
| mean IDs per video | {s.get('mean_ids_per_video')} |
| track length (tracked frames) | {s.get('track_length_frames')} |
| IDs per matched target (fragmentation) | {s.get('id_fragmentation')} |

## Target matching and class routing

Targets matched with the `{config.match.convention}` rule (box IoU >= {config.match.min_iou} on at least
{config.match.min_frames_share:.0%} of the annotated frames under `strict`; any overlap and a majority under
`stvg_r1`); each row records `target_votes`, `target_frames_annotated` and `target_mean_iou`. A sample whose
target has no acceptable track is not written (errors table, stage `match`). The source's categories map to
the detector's classes as follows (detector `{config.detector.name}`).

{routing_table(config.source.name)}

## Provenance

```json
{json.dumps(info.provenance, indent=2, sort_keys=True)}
```

Load with `datasets.load_dataset("parquet", data_files="data/*.parquet")` or plain pyarrow.
Check integrity with `vcprep verify .` (schema, manifest sha256, row hashes, every frame);
convert with `vcprep export . --to verl|easyr1|trl --out OUT`.
"""
