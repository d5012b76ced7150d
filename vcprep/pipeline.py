"""Run a recipe: plan jobs by video, process each video independently, write shards.

`process_video` is a pure function of (job, config) given the recipe's built plug-ins: the same
code runs in this process, in a local process pool (one set of plug-ins per worker), or on Ray.
Per video: plan tracking (from all its samples) and rendering (the pending samples), decode the
union of their frames in one in-order pass, track, then render every pending sample from the
shared frames. `run_pipeline` writes from this process only; `--executor ray` (vcprep/cluster.py)
runs `track_job` and `render_tracked` in separate Ray actors whose render workers write shards.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from vcprep.core.config import PipelineConfig
from vcprep.core.errors import ErrorRecord, InputError
from vcprep.core.records import RunSummary, VideoStats
from vcprep.core.types import Frame, Sample, Tracks, VideoInfo
from vcprep.dataset.card import finalize_dataset, unanswered_by_reason
from vcprep.dataset.files import append_jsonl, atomic_write_text
from vcprep.dataset.writers import SampleTooLargeError, ShardWriter
from vcprep.decode.frame_pass import FramePass
from vcprep.decode.video import DecodeError, read_frames
from vcprep.executors import iter_results
from vcprep.plugins import Plugins, build_plugins
from vcprep.render.context import VideoContext, stored_size
from vcprep.render.rows import (
    SamplePlan,
    UnansweredSampleError,
    clip_ground_truth,
    clip_span_of,
    match_tolerance,
    needs_target_id,
    plan_sample,
    resize_to,
    sample_rows,
    validate_sample,
)
from vcprep.sources.plan import VideoJob, first_videos, plan_jobs
from vcprep.sources.routing import undetectable_reason
from vcprep.track.detectors import detector_class_names
from vcprep.track.matching import CLASS_NOT_DETECTABLE, match_target
from vcprep.track.quality import quality_line, run_quality, track_stats
from vcprep.track.seeding import add_seeded_tracks, seeded_boxes
from vcprep.track.stage import plan_tracking, postprocess, probe_video, run_tracking
from vcprep.track.trackers import PhraseTracker
from vcshard.layout import ERRORS_PATH, INFO_PATH, RECIPE_PATH, VIDEO_STATS_PATH


@dataclass
class VideoResult:
    video_path: str
    rows: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    stats: VideoStats | None = None


@dataclass
class TrackedVideo:
    """One video after detect+track, before rendering: all the render stage needs, no model.

    The Ray executor sends it from a track actor (GPU) to a render worker (CPU) through the object
    store; locally `process_video` hands it straight on.
    """

    video_path: str
    plans: list[SamplePlan]
    ctx: VideoContext | None
    """None when the video could not be probed or tracked (its samples are in `errors`)."""
    errors: list[ErrorRecord]
    stats: VideoStats


def track_job(job: VideoJob, config: PipelineConfig, plugins: Plugins) -> TrackedVideo:
    """Probe, plan, decode once, detect and track one video; failures become ErrorRecords."""
    pending = job.pending()
    errors: list[ErrorRecord] = []
    stats = VideoStats(job.video_path)

    def fail(stage: str, samples: list[Sample], reason: str) -> None:
        errors.extend(ErrorRecord(stage, job.video_path, s.sample_id, reason) for s in samples)

    try:
        video_file, info = probe_video(config.resolve(config.source.data_root), job.video_path, config.decode)
    except (InputError, DecodeError) as exc:
        fail("decode", pending, str(exc))
        return TrackedVideo(job.video_path, [], None, errors, stats)
    plans: list[SamplePlan] = []
    # a text-prompted tracker (sam3) finds any phrase: the detector's classes do not limit what it tracks
    prompted = isinstance(plugins.trackers.tracker, PhraseTracker)
    detector_classes = None if prompted else detector_class_names(plugins.trackers.detector)
    for sample in pending:
        try:
            plan = plan_sample(sample, info, config.sampling, plugins.chains)
            undetectable = undetectable_reason(sample, detector_classes) if needs_target_id(sample) else None
        except UnansweredSampleError as exc:  # a span-only ID query: refused before tracking
            fail("match", [sample], str(exc))
            continue
        except (InputError, ValueError) as exc:
            fail("render", [sample], str(exc))
            continue
        if undetectable and not config.postprocess.seed_targets:  # a seeded target needs no detector class
            fail("match", [sample], f"{CLASS_NOT_DETECTABLE}: {undetectable}")
            continue
        plans.append(plan)
    t0 = time.perf_counter()
    try:
        track_plan = plan_tracking(video_file, info, config, plugins.trackers, job.samples, job.video_path)
        to_track = track_plan.frames_to_decode()
        frames = FramePass(video_file, track=to_track, keep=set().union(*(p.frame_indices() for p in plans)),
                           backend=config.decode.backend, resize=resize_to(*stored_size(info, config.output.max_side)))
        raw = run_tracking(track_plan, plugins.trackers.tracker, frames.segment)
        kept: dict[int, Frame] = frames.finish()
    except (DecodeError, ValueError, OSError) as exc:  # a bad video, or a detector/tracker that cannot run
        fail("track", [p.sample for p in plans], str(exc))
        return TrackedVideo(job.video_path, [], None, errors, stats)
    tracks = postprocess(raw, config.postprocess, info)
    seeded: dict[str, int] = {}
    if config.postprocess.seed_targets:
        try:
            tracks, seeded = seed_unmatched(job.samples, tracks, info, config, video_file)
        except DecodeError as exc:
            fail("track", [p.sample for p in plans], f"seeding targets: {exc}")
            return TrackedVideo(job.video_path, [], None, errors, stats)
    ctx = VideoContext.build(info, tracks, kept, decode=config.decode, output=config.output,
                             postprocess=config.postprocess, seeded_targets=seeded)
    summary = track_stats(tracks)
    stats.frames_tracked = summary["frames_tracked"]
    stats.frames_decoded = frames.frames_decoded
    stats.frames_detected = int(to_track.size)
    stats.num_ids = summary["num_ids"]
    stats.track_lengths = summary["track_lengths"]
    stats.cache_hits = track_plan.cache_hits
    stats.track_seconds = time.perf_counter() - t0
    return TrackedVideo(job.video_path, plans, ctx, errors, stats)


def seed_unmatched(samples: list[Sample], tracks: Tracks, info: VideoInfo, config: PipelineConfig,
                   video_file: Path) -> tuple[Tracks, dict[str, int]]:
    """Tracks with a seeded track for every ID sample of the video whose target no track matches under the
    recipe's rule (`vcprep.track.seeding`), and the seeded track of each such sample. Decided from *all*
    the video's samples, like tracking, so a resumed run (fewer samples pending) gets the same IDs. Only
    the tracked frames of those samples' clips are decoded again."""
    step = max(1, math.ceil(info.fps / min(config.decode.track_fps, info.fps)))
    seeds = []
    for sample in samples:
        try:
            validate_sample(sample, info)
            if not needs_target_id(sample):
                continue
        except ValueError:  # a sample that does not fit the video, or an unknown task: recorded when planned
            continue
        gt = clip_ground_truth(sample, info)
        if not gt or match_target(tracks, gt, config.match,
                                  tolerance_frames=match_tolerance(step)).target_id is not None:
            continue
        start, end = clip_span_of(sample, info)
        wanted = [int(f) for f in tracks.frame_indices_tracked if start - 1e-6 <= f / info.fps <= end + 1e-6]
        frames = list(read_frames(video_file, wanted, backend=config.decode.backend))
        if frames:
            seeds.append((sample.sample_id, seeded_boxes(frames, gt)))
    if not seeds:
        return tracks, {}
    made = add_seeded_tracks(tracks, seeds)
    return made.tracks, made.target_of


def render_tracked(tracked: TrackedVideo, config: PipelineConfig) -> VideoResult:
    """Draw and encode every planned sample of a tracked video (CPU work only)."""
    result = VideoResult(tracked.video_path, errors=list(tracked.errors))
    if tracked.ctx is None:
        return result
    t0 = time.perf_counter()
    stats = tracked.stats
    for plan in tracked.plans:
        try:
            made = sample_rows(plan, tracked.ctx, output=config.output, match_rule=config.match)
        except UnansweredSampleError as exc:
            result.errors.append(ErrorRecord("match", tracked.video_path, plan.sample.sample_id, str(exc)))
            continue
        except (InputError, DecodeError, ValueError) as exc:
            result.errors.append(ErrorRecord("render", tracked.video_path, plan.sample.sample_id, str(exc)))
            continue
        result.rows.append((plan.sample.sample_id, made.rows))
        stats.oracle_viou.append(made.oracle_viou)
        stats.match_votes.append(made.match_votes)
    stats.render_seconds = time.perf_counter() - t0
    result.stats = stats
    return result


def process_video(job: VideoJob, config: PipelineConfig, plugins: Plugins) -> VideoResult:
    """Everything for one video; failures become ErrorRecords, never exceptions."""
    return render_tracked(track_job(job, config, plugins), config)


def pending_jobs(jobs: list[VideoJob], done: set[str]) -> tuple[list[VideoJob], int]:
    """Jobs with samples still to write (each keeps all its samples for tracking), and how many are done."""
    todo, skipped = [], 0
    for job in jobs:
        render = frozenset(s.sample_id for s in job.samples if s.sample_id not in done)
        skipped += len(job.samples) - len(render)
        if render:
            todo.append(VideoJob(job.video_path, job.samples, render))
    return todo, skipped


class RecipeMismatchError(RuntimeError):
    """The output folder holds rows of another recipe; resuming into it would mix two datasets."""


def recipe_hash(config: PipelineConfig) -> str:
    """Hash of what decides the rows: the recipe without the worker count and the tracks cache folder
    (both change how fast rows are made, not which), with its paths resolved (a `--data-root` or
    `--annotations` override naming the same folder or file is the same recipe)."""
    d = config.to_dict()
    d["output"].pop("workers")
    d.pop("tracks_cache")
    for key in ("annotations", "data_root"):
        d["source"][key] = str(config.resolve(d["source"][key]))
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def claim_folder(out: Path, config: PipelineConfig, writer: ShardWriter, *, overwrite: bool) -> None:
    """Make sure every row in `out` comes from this recipe, under the writer's lock.

    The recipe's hash is written to meta/recipe.json before the first shard, so even a run killed
    before info.json exists is recognised (a folder written before recipe.json existed is judged by
    info.json's config_hash). A folder holding another recipe's rows is refused, or emptied first
    with `overwrite`. Nothing in the folder changes before this check: the writer (opened with
    `recover=False`) merges parts and deletes leftovers only at the end, once the folder is claimed.
    """
    want = recipe_hash(config)
    path = out / RECIPE_PATH
    have = ""
    if path.is_file():
        try:
            have = str(json.loads(path.read_text()).get("recipe_hash", ""))
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            have = "unreadable"
    elif (out / INFO_PATH).is_file():  # written before meta/recipe.json existed: compare info.json's hash
        try:
            legacy = str(json.loads((out / INFO_PATH).read_text()).get("config_hash", ""))
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            legacy = "unreadable"
        have = want if legacy == config.hash() else f"{legacy} (info.json config_hash)"
    if have and have != want:
        if not overwrite:
            raise RecipeMismatchError(
                f"{out}: holds a dataset of another recipe (recipe hash {have}, this recipe {want}); "
                f"resuming would mix the two. Choose another --out, or pass --overwrite to redo it"
            )
        writer.discard_all()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"recipe_hash": want, "name": config.name}, sort_keys=True))
    writer.recover()  # only now, the folder being this recipe's: merge parts, drop leftovers


def run_pipeline(
    config: PipelineConfig, out_dir: str | Path, *, workers: int | None = None,
    progress: bool = True, limit: int | None = None, overwrite: bool = False,
) -> RunSummary:
    """Render every sample of the pipeline into `out_dir`, resuming what a previous run finished.

    Every plug-in is built before the first video is read, so a recipe mistake fails at once
    (ConfigError naming the key). A folder holding another recipe's dataset is refused
    (RecipeMismatchError) unless `overwrite`, which redoes it. The folder stays locked until
    errors.jsonl, info.json and the card are written.
    """
    t0 = time.perf_counter()
    first_videos([], limit)  # a bad --limit fails before any plug-in loads
    jobs, source_errors = plan_jobs(config)  # before the plug-ins: it may set the detector's classes from the samples
    plugins = build_plugins(config)
    out = Path(out_dir)
    summary = RunSummary(str(out))
    writer = ShardWriter(out, max_shard_bytes=config.output.max_shard_bytes,
                         samples_per_shard=config.output.samples_per_shard,
                         max_row_group_bytes=config.output.max_row_group_bytes, recover=False)
    try:
        _render_into(writer, out, config, plugins, jobs, source_errors, summary, overwrite=overwrite,
                     workers=workers, progress=progress, limit=limit)
    except BaseException:  # disk full, permissions, Ctrl-C: commit nothing half written
        writer.abort()
        raise
    writer.close()  # releases the lock only now, after errors.jsonl, info.json and the card
    summary.wall_seconds = time.perf_counter() - t0
    return summary


def _render_into(
    writer: ShardWriter, out: Path, config: PipelineConfig, plugins: Plugins, jobs: list[VideoJob],
    source_errors: list[ErrorRecord], summary: RunSummary, *, overwrite: bool, workers: int | None,
    progress: bool, limit: int | None,
) -> None:
    claim_folder(out, config, writer, overwrite=overwrite)
    # errors of earlier attempts are superseded by this run's
    (out / ERRORS_PATH).unlink(missing_ok=True)
    summary.errors.extend(source_errors)
    todo, summary.samples_skipped = pending_jobs(jobs, writer.done)
    todo = first_videos(todo, limit)
    n_workers = workers if workers is not None else config.output.workers
    bar = tqdm(total=sum(len(j.pending()) for j in todo), desc=f"render {config.name}", unit="sample",
               disable=not progress)
    results: Iterator[VideoResult] = iter_results(process_video, todo, config, plugins, workers=n_workers)
    for result in results:
        if result.stats:  # before the rows: every video with written samples has its stats on disk
            append_jsonl(out / VIDEO_STATS_PATH, result.stats.to_dict())
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
    writer.close_shard()
    for err in summary.errors:
        append_jsonl(out / ERRORS_PATH, err.to_dict())
    finalize_dataset(out, config, summary)


def summary_table(summary: RunSummary) -> str:
    unanswered = unanswered_by_reason([e.to_dict() for e in summary.errors])
    lines = [
        f"output:   {summary.out_dir}",
        f"written:  {summary.samples_written} samples ({summary.rows_written} rows)",
        f"resumed:  {summary.samples_skipped} samples already done",
        f"failed:   {summary.failed}",
        f"no target: {sum(unanswered.values())} samples not written (no acceptable target)"
        + (f" {unanswered}" if unanswered else ""),
        f"time:     {summary.wall_seconds:.1f} s",
    ]
    if summary.video_stats:
        lines.append(quality_line(run_quality(summary.video_stats)))
    by_stage = Counter(e.stage for e in summary.errors)
    for e in summary.errors[:20]:
        lines.append(f"  [{e.stage}] {e.file} {e.sample_id}: {e.reason}")
    if summary.failed > 20:
        lines.append(f"  ... {summary.failed - 20} more in {ERRORS_PATH} ({dict(by_stage)})")
    return "\n".join(lines)
