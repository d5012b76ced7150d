"""`vcprep render --executor ray`: a Ray cluster where the driver handles metadata only.

Two stages, as a Ray user would lay them out:
- detect+track in a pool of actors (`TrackWorker`): each loads the detector and tracker once,
  with `ray.num_gpus_per_track_actor` / `num_cpus_per_track_actor` reserved, and batches frames
  through the detector where it supports it (`detector.params.batch_size`);
- render+encode+write on CPU actors (`RenderWorker`): each draws the prompts, encodes the JPEGs
  and writes its own shards with the same atomic commit as a local run (`PartShardWriter`:
  temporary name, fsync, rename, then its manifest part).
A tracked video (tracks and the decoded frames it needs) goes from a track actor to a render
worker through Ray's object store, never through the driver; the driver receives a few hundred
bytes per video (`VideoReport`), shows progress, and merges the manifest parts at the end.
Resuming (after a killed worker or driver) merges whatever parts were committed, deletes
uncommitted files, and redoes only the samples no manifest lists.
"""

from __future__ import annotations

import os
import pickle
import secrets
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from vcprep.core.config import ConfigError, PipelineConfig
from vcprep.core.errors import ErrorRecord
from vcprep.core.records import RunSummary, VideoStats
from vcprep.dataset.card import finalize_dataset
from vcprep.dataset.files import append_jsonl
from vcprep.dataset.manifest import merge_parts
from vcprep.dataset.writers import PartShardWriter, SampleTooLargeError, ShardWriter
from vcprep.pipeline import TrackedVideo, claim_folder, pending_jobs, render_tracked, track_job
from vcprep.plugins import MODEL_LOADS, ModelLoads, build_plugins, check_names
from vcprep.sources.plan import VideoJob, first_videos, plan_jobs
from vcshard.layout import ERRORS_PATH, VIDEO_STATS_PARTS_DIR


@dataclass
class VideoReport:
    """What a render worker sends the driver for one video: counts, errors and stats, no pixels."""

    video_path: str
    samples_written: int = 0
    rows_written: int = 0
    errors: list[ErrorRecord] = field(default_factory=list)
    stats: VideoStats | None = None


class TrackWorker:
    """Detect+track actor: the recipe's detector and tracker, built once for every video it gets."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.plugins = build_plugins(config)

    def track(self, job: VideoJob) -> TrackedVideo:
        return track_job(job, self.config, self.plugins)

    def model_loads(self) -> ModelLoads:
        """Every model load of this actor's process (more than one would mean per-video loading)."""
        return MODEL_LOADS

    def pid(self) -> int:
        return os.getpid()


class RenderWorker:
    """Render+encode+write actor: draws and encodes a tracked video's rows into its own shards."""

    def __init__(self, root: str, worker: str, config: PipelineConfig, done: set[str]) -> None:
        self.config = config
        self.root = Path(root)
        self.worker = worker
        out = config.output
        self.writer = PartShardWriter(root, worker, done=done, max_shard_bytes=out.max_shard_bytes,
                                      samples_per_shard=out.samples_per_shard,
                                      max_row_group_bytes=out.max_row_group_bytes)

    def render(self, tracked: TrackedVideo) -> VideoReport:
        result = render_tracked(tracked, self.config)
        report = VideoReport(result.video_path, errors=result.errors, stats=result.stats)
        if result.stats:  # before the rows, as in a local run: a video with written samples has stats
            append_jsonl(self.root / VIDEO_STATS_PARTS_DIR / f"{self.worker}.jsonl", result.stats.to_dict())
        for sample_id, rows in result.rows:
            try:
                self.writer.write_sample(sample_id, rows)
            except SampleTooLargeError as exc:
                report.errors.append(ErrorRecord("write", result.video_path, sample_id, str(exc)))
                continue
            report.samples_written += 1
            report.rows_written += len(rows)
        return report

    def close(self) -> None:
        """Commit the last open shard."""
        self.writer.close()

    def pid(self) -> int:
        return os.getpid()


@dataclass
class Throughput:
    """The run's speed and the driver's share of the traffic, printed after the summary."""

    videos: int = 0
    seconds: float = 0.0
    rows: int = 0
    track_actors: int = 0
    render_workers: int = 0
    model_loads: int = 0
    """Detector+tracker builds in the track actors' live processes (one each when loaded once)."""
    model_load_seconds: float = 0.0
    track_seconds: float = 0.0
    """Sum over videos of detect+track time in the actors."""
    render_seconds: float = 0.0
    bytes_received: int = 0
    """Pickled size of every result the driver received."""
    worker_failures: int = 0

    def line(self) -> str:
        vps = self.videos / self.seconds if self.seconds else 0.0
        return (f"ray:      {self.videos} videos in {self.seconds:.1f} s ({vps:.2f} videos/s, "
                f"{self.rows / max(self.seconds, 1e-9):.1f} rows/s) on {self.track_actors} track actors + "
                f"{self.render_workers} render workers; {self.model_loads} model loads "
                f"({self.model_load_seconds:.1f} s); track {self.track_seconds:.1f} s, render "
                f"{self.render_seconds:.1f} s summed over workers; driver received {self.bytes_received} bytes")


@dataclass
class ClusterRun:
    summary: RunSummary
    throughput: Throughput


def _connect(ray: Any, workers: int) -> bool:
    """Join RAY_ADDRESS when set (a real cluster), else start a local Ray; True if started here."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if not os.environ.get("RAY_ADDRESS"):
        kwargs["num_cpus"] = max(2, 2 * workers)  # a track actor and a render worker per worker
    # ray.init replaces the driver's SIGTERM handler with its own sys.exit(15); keep the caller's (the CLI
    # raises an interrupt there, so run_cluster's cleanup and the exit code are those of Ctrl-C)
    handler = signal.getsignal(signal.SIGTERM)
    ray.init(**kwargs)
    if handler is not None:
        signal.signal(signal.SIGTERM, handler)
    return True


def _check_resources(ray: Any, config: PipelineConfig, n_track: int) -> None:
    """Refuse GPU requests the cluster cannot meet (Ray would otherwise wait forever)."""
    want = config.ray.num_gpus_per_track_actor
    have = ray.cluster_resources().get("GPU", 0.0)
    if want > 0 and want > have:
        raise ConfigError(f"ray.num_gpus_per_track_actor: {want} GPUs per actor, but the cluster has {have:g}")
    if want > 0 and want * n_track > have:
        raise ConfigError(f"ray.track_actors: {n_track} actors x {want} GPUs > the cluster's {have:g} GPUs")


def run_cluster(config: PipelineConfig, out_dir: str | Path, *, workers: int | None = None,
                progress: bool = True, limit: int | None = None, overwrite: bool = False) -> ClusterRun:
    """Render every pending sample of the recipe on Ray into `out_dir` (see the module docstring).

    As `run_pipeline`: a folder holding another recipe's dataset is refused unless `overwrite`."""
    # Ray's C++ failure handler would turn a SIGTERM to the driver into an abort before Python sees it (no
    # cleanup, exit -6); read when ray is imported, so set first
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise RuntimeError("the ray executor needs the extra: pip install 'vcprep[ray]'") from exc

    t0 = time.perf_counter()
    first_videos([], limit)
    check_names(config)  # cheap: a misspelt plug-in or source fails before Ray starts
    out = Path(out_dir)
    summary = RunSummary(str(out))
    jobs, source_errors = plan_jobs(config)  # before the recipe is hashed: it may set the detector's classes
    # the driver's writer holds the folder lock, merges parts of a killed run and drops uncommitted files
    writer = ShardWriter(out, max_shard_bytes=config.output.max_shard_bytes,
                         samples_per_shard=config.output.samples_per_shard,
                         max_row_group_bytes=config.output.max_row_group_bytes, recover=False)
    try:
        claim_folder(out, config, writer, overwrite=overwrite)
    except BaseException:
        writer.abort()  # release the lock: nothing was changed
        raise
    (out / ERRORS_PATH).unlink(missing_ok=True)
    summary.errors.extend(source_errors)
    todo, summary.samples_skipped = pending_jobs(jobs, writer.done)
    todo = first_videos(todo, limit)
    n_workers = workers if workers is not None else config.output.workers
    n_track = config.ray.track_actors or max(1, n_workers)
    n_render = config.ray.render_workers or n_track
    speed = Throughput(track_actors=n_track, render_workers=n_render)
    started = _connect(ray, n_workers)
    try:
        _check_resources(ray, config, n_track)
        if todo:
            _run_jobs(ray, config, out, todo, writer.done, n_track, n_render, summary, speed, progress)
    finally:
        merge_parts(out)
        writer.close()
        if started:
            ray.shutdown()
    for err in summary.errors:
        append_jsonl(out / ERRORS_PATH, err.to_dict())
    summary.wall_seconds = speed.seconds = time.perf_counter() - t0
    finalize_dataset(out, config, summary)
    return ClusterRun(summary, speed)


def _run_jobs(ray: Any, config: PipelineConfig, out: Path, todo: list[VideoJob], done: set[str], n_track: int,
              n_render: int, summary: RunSummary, speed: Throughput, progress: bool) -> None:
    rc = config.ray
    retry = {"max_restarts": rc.max_restarts, "max_task_retries": 1 if rc.max_restarts else 0}
    track_cls = ray.remote(TrackWorker).options(num_cpus=rc.num_cpus_per_track_actor,
                                                num_gpus=rc.num_gpus_per_track_actor, **retry)
    render_cls = ray.remote(RenderWorker).options(num_cpus=rc.num_cpus_per_render_worker, **retry)
    run_token = secrets.token_hex(3)  # shard names unique to this run and worker
    done_ref = ray.put(done)
    trackers = [track_cls.remote(config) for _ in range(n_track)]
    renderers = [render_cls.remote(str(out), f"{run_token}w{k}", config, done_ref) for k in range(n_render)]
    track_load, render_load = [0] * n_track, [0] * n_render
    queue = deque(todo)
    inflight: dict[Any, tuple[int, int, VideoJob]] = {}
    bar = tqdm(total=len(todo), desc=f"ray {config.name}", unit="video", disable=not progress)
    try:
        while queue or inflight:
            while queue and min(track_load) < rc.videos_in_flight_per_actor:
                k, r = track_load.index(min(track_load)), render_load.index(min(render_load))
                job = queue.popleft()
                # the tracked video's ref goes straight to a render worker: its frames never reach the driver
                ref = renderers[r].render.remote(trackers[k].track.remote(job))
                inflight[ref] = (k, r, job)
                track_load[k] += 1
                render_load[r] += 1
            ready, _ = ray.wait(list(inflight), num_returns=1)
            for ref in ready:
                k, r, job = inflight.pop(ref)
                track_load[k] -= 1
                render_load[r] -= 1
                try:
                    report: VideoReport = ray.get(ref)
                except ray.exceptions.RayError as exc:  # a worker died twice, or a bug in a worker
                    speed.worker_failures += 1
                    reason = f"worker failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                    summary.errors.extend(ErrorRecord("worker", job.video_path, s.sample_id, reason)
                                          for s in job.pending())
                    bar.update(1)
                    continue
                speed.bytes_received += len(pickle.dumps(report))
                _account(report, summary, speed)
                bar.update(1)
                bar.set_postfix(rows=summary.rows_written, errors=len(summary.errors), refresh=False)
        ray.get([w.close.remote() for w in renderers])
        loads: list[ModelLoads] = ray.get([t.model_loads.remote() for t in trackers])
        speed.model_loads = sum(m.count for m in loads)
        speed.model_load_seconds = sum(m.seconds for m in loads)
    finally:
        bar.close()
        for actor in trackers + renderers:
            ray.kill(actor)


def _account(report: VideoReport, summary: RunSummary, speed: Throughput) -> None:
    summary.samples_written += report.samples_written
    summary.rows_written += report.rows_written
    summary.errors.extend(report.errors)
    speed.videos += 1
    speed.rows += report.rows_written
    if report.stats:
        summary.video_stats.append(report.stats)
        speed.track_seconds += report.stats.track_seconds
        speed.render_seconds += report.stats.render_seconds
