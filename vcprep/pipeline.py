"""Run a pipeline: group samples by video, process each video independently, write shards.

`process_video` is a pure function of (job, config): the same code runs in this process,
in a local process pool, or as a Ray Data map task. Only the parent process writes output.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from vcprep.config import PipelineConfig
from vcprep.decode import DecodeError, probe
from vcprep.errors import ErrorRecord, InputError, resolve_under
from vcprep.executors import iter_results
from vcprep.render import build_sample_rows
from vcprep.shards import ERRORS_PATH, VIDEO_STATS_PATH, SampleTooLargeError, ShardWriter, append_jsonl
from vcprep.sources import build_source
from vcprep.types import Sample, Tracks, VideoInfo


@dataclass
class VideoJob:
    video_path: str
    samples: list[Sample]


@dataclass
class VideoResult:
    video_path: str
    rows: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


def compute_tracks(video_file: Path, info: VideoInfo, config: PipelineConfig,
                   samples: Sequence[Sample] = (), video_path: str | None = None) -> Tracks:
    """Detect, track and post-process one whole video (source pixels, compact IDs).

    Raw tracks come from `config.tracks_cache` when it holds this video with the same detector
    and tracker configuration (see `vcprep/track_stage.py`); `samples` feed the `gt` detector.
    """
    from vcprep.track_stage import tracks_for_video

    return tracks_for_video(video_file, info, config, samples=samples, video_path=video_path)


def process_video(job: VideoJob, config: PipelineConfig) -> VideoResult:
    """Everything for one video; failures become ErrorRecords, never exceptions."""
    result = VideoResult(job.video_path)
    data_root = config.resolve(config.source.data_root)
    fail_all = lambda stage, file, reason: result.errors.extend(  # noqa: E731
        ErrorRecord(stage, file, s.sample_id, reason) for s in job.samples
    )
    try:
        video_file = resolve_under(data_root, job.video_path)
        info = probe(video_file, backend="av" if config.decode.backend == "av" else "cv2",
                     max_pixels=config.decode.max_pixels)
    except (InputError, DecodeError) as exc:
        fail_all("decode", job.video_path, str(exc))
        return result
    t0 = time.perf_counter()
    try:
        tracks = compute_tracks(video_file, info, config, job.samples, job.video_path)
    except (DecodeError, ValueError, OSError) as exc:  # bad video, or a detector/tracker that cannot load
        fail_all("track", job.video_path, str(exc))
        return result
    t_track = time.perf_counter() - t0
    for sample in job.samples:
        try:
            rows = build_sample_rows(sample, video_file=video_file, info=info, tracks=tracks, config=config)
        except (InputError, DecodeError, ValueError) as exc:
            result.errors.append(ErrorRecord("render", job.video_path, sample.sample_id, str(exc)))
            continue
        result.rows.append((sample.sample_id, rows))
    result.stats = {
        "video_path": job.video_path,
        "frames_tracked": int(tracks.frame_indices_tracked.size),
        "num_ids": int(tracks.ids().size),
        "track_lengths": np.unique(tracks.track_id, return_counts=True)[1].tolist() if len(tracks) else [],
        "oracle_viou": [rows[0]["oracle_viou"] for _, rows in result.rows if rows],
        "match_votes": [json.loads(rows[0]["meta"]).get("match_votes", {}) for _, rows in result.rows if rows],
        "track_seconds": t_track,
        "render_seconds": time.perf_counter() - t0 - t_track,
    }
    return result


def plan_jobs(config: PipelineConfig) -> tuple[list[VideoJob], list[ErrorRecord]]:
    """Read the source and group its samples by video, keeping the source's order."""
    params = dict(config.source.params)
    params["annotations"] = str(config.resolve(config.source.annotations))
    by_video: dict[str, list[Sample]] = defaultdict(list)
    errors: list[ErrorRecord] = []
    seen: set[str] = set()
    for item in build_source(config.source.name, params).iter_samples():
        if isinstance(item, ErrorRecord):
            errors.append(item)
        elif item.sample_id in seen:
            errors.append(ErrorRecord("source", item.video_path, item.sample_id, "duplicate sample id"))
        else:
            seen.add(item.sample_id)
            by_video[item.video_path].append(item)
    return [VideoJob(v, s) for v, s in by_video.items()], errors


@dataclass
class RunSummary:
    out_dir: str
    samples_written: int = 0
    samples_skipped: int = 0
    rows_written: int = 0
    errors: list[ErrorRecord] = field(default_factory=list)
    video_stats: list[dict[str, Any]] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.errors)


def run_pipeline(
    config: PipelineConfig, out_dir: str | Path, *, workers: int | None = None,
    progress: bool = True, limit: int | None = None, executor: str = "local",
) -> RunSummary:
    """Render every sample of the pipeline into `out_dir`, resuming what a previous run finished."""
    from vcprep.datacard import finalize_dataset

    t0 = time.perf_counter()
    out = Path(out_dir)
    summary = RunSummary(str(out))
    jobs, source_errors = plan_jobs(config)
    writer = ShardWriter(out, max_shard_bytes=config.output.max_shard_bytes,
                         samples_per_shard=config.output.samples_per_shard,
                         max_row_group_bytes=config.output.max_row_group_bytes)
    # errors of earlier attempts are superseded by this run's
    (out / ERRORS_PATH).unlink(missing_ok=True)
    summary.errors.extend(source_errors)
    todo = []
    for job in jobs:
        pending = [s for s in job.samples if s.sample_id not in writer.done]
        summary.samples_skipped += len(job.samples) - len(pending)
        if pending:
            todo.append(VideoJob(job.video_path, pending))
    if limit is not None:
        todo = todo[:limit]
    n_workers = workers if workers is not None else config.output.workers
    bar = tqdm(total=sum(len(j.samples) for j in todo), desc=f"render {config.name}", unit="sample",
               disable=not progress)
    for result in iter_results(process_video, todo, config, executor=executor, workers=n_workers):
        if result.stats:  # before the rows: every video with written samples has its stats on disk
            append_jsonl(out / VIDEO_STATS_PATH, result.stats)
        for sample_id, rows in result.rows:
            try:
                writer.write_sample(sample_id, rows)
            except SampleTooLargeError as exc:
                summary.errors.append(ErrorRecord("write", result.video_path, sample_id, str(exc)))
                continue
            summary.samples_written += 1
            summary.rows_written += len(rows)
        summary.errors.extend(result.errors)
        if result.stats:
            summary.video_stats.append(result.stats)
        bar.update(len(result.rows) + len(result.errors))
    bar.close()
    writer.close()
    for err in summary.errors:
        append_jsonl(out / ERRORS_PATH, err.to_dict())
    summary.wall_seconds = time.perf_counter() - t0
    finalize_dataset(out, config, summary)
    return summary


def summary_table(summary: RunSummary) -> str:
    lines = [
        f"output:   {summary.out_dir}",
        f"written:  {summary.samples_written} samples ({summary.rows_written} rows)",
        f"resumed:  {summary.samples_skipped} samples already done",
        f"failed:   {summary.failed}",
        f"time:     {summary.wall_seconds:.1f} s",
    ]
    if summary.video_stats:
        from vcprep.quality import quality_line, run_quality

        lines.append(quality_line(run_quality(summary.video_stats)))
    by_stage = Counter(e.stage for e in summary.errors)
    for e in summary.errors[:20]:
        lines.append(f"  [{e.stage}] {e.file} {e.sample_id}: {e.reason}")
    if summary.failed > 20:
        lines.append(f"  ... {summary.failed - 20} more in {ERRORS_PATH} ({dict(by_stage)})")
    return "\n".join(lines)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and math.isnan(o):
        return None
    raise TypeError(type(o))


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, indent=2, sort_keys=True)
