"""`vcprep stats`: a readable summary of a dataset folder, read from the shards themselves."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from vcprep.dataset.card import dataset_stats, unanswered_by_reason
from vcprep.dataset.info import load_info
from vcshard.layout import ERRORS_PATH
from vcshard.manifest import load_manifest, read_jsonl


def load_errors(root: str | Path) -> list[dict[str, Any]]:
    """The errors table (meta/errors.jsonl) as dicts; a torn last line is ignored."""
    return read_jsonl(Path(root) / ERRORS_PATH)


def dataset_summary(root: str | Path) -> dict[str, Any]:
    root = Path(root)
    info = load_info(root)
    stats = dataset_stats(root)
    errors = load_errors(root)
    manifest = load_manifest(root)
    return {
        "name": info.name,
        "format_version": info.format_version,
        "shards": len(manifest),
        "shard_bytes": sum(e.get("bytes", 0) for e in manifest),
        **stats,
        "errors": len(errors),
        "errors_by_stage": dict(sorted(Counter(e.get("stage", "?") for e in errors).items())),
        "unanswered": unanswered_by_reason(errors),
        "failed_samples": sorted({e.get("sample_id", "") for e in errors if e.get("sample_id")}),
    }


def format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"dataset        {s['name']} (format {s['format_version']})",
        f"shards         {s['shards']} ({s['shard_bytes'] / 1e6:.1f} MB)",
        f"samples        {s['num_samples']}",
        f"rows           {s['num_rows']}",
        f"frames         {s['num_frames']}",
        f"videos         {s['num_videos']} ({s['video_seconds']:.1f} s of video)",
        "variants       " + ", ".join(f"{k}: {v}" for k, v in s["rows_per_variant"].items()),
        f"IDs per video  {s['mean_ids_per_video']} (mean)",
        f"target tracked {s['target_matched_share']} of samples with ground truth",
        f"oracle vIoU    {s['mean_oracle_viou']} (mean; best single track over the clip)",
        f"answer ceiling {s.get('mean_answer_ceiling_viou')} (mean vIoU of the best ID + span answer, as vctrain eval)",
        f"errors         {s['errors']}" + (f" {s['errors_by_stage']}" if s["errors"] else ""),
        f"not written    {sum(s['unanswered'].values())} samples without an acceptable target"
        + (f" {s['unanswered']}" if s["unanswered"] else ""),
    ]
    if s["failed_samples"]:
        shown = ", ".join(s["failed_samples"][:10])
        more = f" ... (+{len(s['failed_samples']) - 10})" if len(s["failed_samples"]) > 10 else ""
        lines.append(f"failed samples {shown}{more} (see {ERRORS_PATH})")
    return "\n".join(lines)
