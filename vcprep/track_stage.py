"""The tracking stage of a pipeline: raw tracks from the cache or from detect+track, then post-processing.

`tracks_for_video` is what `pipeline.compute_tracks` calls (pure in (video, samples, config)
apart from the cache folder it reads and writes). `run_track_stage` is `vcprep track`: it fills
the cache for every video of a recipe so later `vcprep render` runs never re-run detection.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcprep.config import PipelineConfig
from vcprep.decode import sample_frame_indices
from vcprep.detectors import build_detector
from vcprep.trackers import build_tracker
from vcprep.tracking import track_video
from vcprep.tracks import compact_ids, drop_short_tracks, join_fragments
from vcprep.tracks_cache import TracksCache, cache_key, video_sha256
from vcprep.types import Sample, Tracks, VideoInfo

_PATH_PARAMS = ("weights", "checkpoint")


def resolve_path_params(params: dict[str, Any], config: PipelineConfig) -> dict[str, Any]:
    """Weights and checkpoint paths in a recipe resolve against the recipe's folder, like every path.

    A bare name (`yolo11n.yaml`) that is no file next to the recipe stays as written: it names a
    model config shipped inside the library.
    """
    out = dict(params)
    for key in _PATH_PARAMS:
        value = out.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            candidate = config.resolve(value)
            if "/" in value or candidate.exists():
                out[key] = str(candidate)
    return out


def tracker_params(config: PipelineConfig) -> dict[str, Any]:
    return resolve_path_params(config.tracker.params, config)


def detector_params(config: PipelineConfig, samples: Sequence[Sample] = ()) -> dict[str, Any]:
    """The detector's constructor parameters; the `gt` detector gets the samples' boxes here."""
    params = resolve_path_params(config.detector.params, config)
    if config.detector.name == "gt" and "boxes_by_frame" not in params:
        from vcprep.detectors.gt import boxes_from_samples

        params["boxes_by_frame"] = boxes_from_samples(samples)
    return params


def tracks_key(video_file: Path, config: PipelineConfig, params: dict[str, Any]) -> str:
    return cache_key(
        video_sha256(video_file),
        {"name": config.detector.name, "params": params},
        {"name": config.tracker.name, "params": tracker_params(config)},
        {"track_fps": config.decode.track_fps, "backend": config.decode.backend},
    )


@dataclass
class StageTiming:
    """Where the tracking stage's time went for one video (seconds)."""

    cache_hit: bool = False
    total_seconds: float = 0.0
    frames_tracked: int = 0


def raw_tracks(video_file: Path, info: VideoInfo, config: PipelineConfig, *, samples: Sequence[Sample] = (),
               video_path: str | None = None, timing: StageTiming | None = None, progress: bool = False) -> Tracks:
    """Raw tracker output of one video, from `config.tracks_cache` when its key matches."""
    t0 = time.perf_counter()
    params = detector_params(config, samples)
    cache = TracksCache(config.resolve(config.tracks_cache)) if config.tracks_cache else None
    name = video_path or video_file.name
    key = tracks_key(video_file, config, params) if cache else ""
    raw = cache.get(name, key) if cache else None
    hit = raw is not None
    if raw is None:
        raw = track_video(
            video_file,
            detector=build_detector(config.detector.name, params),
            tracker=build_tracker(config.tracker.name, tracker_params(config)),
            frame_indices=sample_frame_indices(info=info, fps=config.decode.track_fps),
            backend=config.decode.backend,
            progress=progress,
        )
        if cache:
            cache.put(name, key, raw, {"detector": config.detector.name, "tracker": config.tracker.name,
                                       "fps": info.fps, "width": info.width, "height": info.height})
    if timing is not None:
        timing.cache_hit = hit
        timing.total_seconds = time.perf_counter() - t0
        timing.frames_tracked = int(raw.frame_indices_tracked.size)
    return raw


def postprocess(raw: Tracks, config: PipelineConfig, info: VideoInfo) -> Tracks:
    """Explicit steps: drop short tracks, join fragments (optional), compact IDs by first appearance."""
    pp = config.postprocess
    tracks = drop_short_tracks(raw, pp.min_track_length)
    if pp.join_max_gap_seconds > 0:
        tracks, _ = join_fragments(tracks, max_gap_frames=int(round(pp.join_max_gap_seconds * info.fps)),
                                   min_iou=pp.join_min_iou)
    tracks, _ = compact_ids(tracks)
    return tracks


def tracks_for_video(video_file: Path, info: VideoInfo, config: PipelineConfig, *, samples: Sequence[Sample] = (),
                     video_path: str | None = None, timing: StageTiming | None = None) -> Tracks:
    return postprocess(raw_tracks(video_file, info, config, samples=samples, video_path=video_path, timing=timing),
                       config, info)


@dataclass
class TrackRunSummary:
    out_dir: str
    videos: int = 0
    cache_hits: int = 0
    computed: int = 0
    frames_tracked: int = 0
    seconds: float = 0.0
    errors: list[Any] = field(default_factory=list)
    per_video: list[dict[str, Any]] = field(default_factory=list)


def run_track_stage(config: PipelineConfig, out_dir: str | Path, *, progress: bool = True,
                    limit: int | None = None) -> TrackRunSummary:
    """`vcprep track`: raw tracks of every video of the recipe into `out_dir` (skipped when cached)."""
    from vcprep.decode import DecodeError, probe
    from vcprep.errors import ErrorRecord, InputError, resolve_under
    from vcprep.pipeline import plan_jobs
    from vcprep.quality import track_stats

    t0 = time.perf_counter()
    config.tracks_cache = str(Path(out_dir).resolve())
    summary = TrackRunSummary(config.tracks_cache)
    jobs, errors = plan_jobs(config)
    summary.errors.extend(errors)
    data_root = config.resolve(config.source.data_root)
    for job in jobs[:limit] if limit is not None else jobs:
        try:
            video_file = resolve_under(data_root, job.video_path)
            info = probe(video_file, backend="av" if config.decode.backend == "av" else "cv2",
                         max_pixels=config.decode.max_pixels)
            timing = StageTiming()
            raw = raw_tracks(video_file, info, config, samples=job.samples, video_path=job.video_path,
                             timing=timing, progress=progress)
        except (InputError, DecodeError, ValueError, OSError, ImportError) as exc:
            summary.errors.extend(ErrorRecord("track", job.video_path, s.sample_id, str(exc)) for s in job.samples)
            continue
        summary.videos += 1
        summary.cache_hits += int(timing.cache_hit)
        summary.computed += int(not timing.cache_hit)
        summary.frames_tracked += timing.frames_tracked
        tracks = postprocess(raw, config, info)
        summary.per_video.append({"video_path": job.video_path, "cache_hit": timing.cache_hit,
                                  "seconds": round(timing.total_seconds, 3), **track_stats(tracks)})
    summary.seconds = time.perf_counter() - t0
    return summary


def track_summary_table(summary: TrackRunSummary) -> str:
    lines = [
        f"tracks:   {summary.out_dir}",
        f"videos:   {summary.videos} ({summary.computed} computed, {summary.cache_hits} from cache)",
        f"frames:   {summary.frames_tracked} tracked",
        f"failed:   {len(summary.errors)}",
        f"time:     {summary.seconds:.1f} s",
    ]
    for v in summary.per_video[:20]:
        source = "cache" if v["cache_hit"] else f"{v['seconds']} s"
        lines.append(f"  {v['video_path']}: {v['num_ids']} IDs, median length {v['median_track_length']} frames, "
                     f"{source}")
    for e in summary.errors[:20]:
        lines.append(f"  [{e.stage}] {e.file} {e.sample_id}: {e.reason}")
    return "\n".join(lines)
