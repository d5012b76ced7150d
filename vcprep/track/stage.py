"""The tracking stage: which frames of a video to track, raw tracks from the cache or from the
detector and tracker, and post-processing.

Only the spans the video's samples need are tracked (their clips plus a margin, merged into
segments; `decode.track_margin_seconds`, `decode.track_whole_video`). Each segment is tracked on
its own (the tracker is reset), cached on its own and keyed by what was tracked, so a later recipe
that needs more of the video adds segments and reuses the ones it shares. The plan is made from
*all* samples of the video, so a resumed run tracks exactly what an uninterrupted one does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from vcprep.core.config import DecodeConfig, PipelineConfig, PluginConfig, PostprocessConfig
from vcprep.core.errors import ErrorRecord, InputError, resolve_under
from vcprep.core.types import Frame, Sample, Tracks, VideoInfo
from vcprep.decode.frame_pass import FramePass
from vcprep.decode.video import DecodeError, probe, sample_frame_indices
from vcprep.sources.plan import first_videos, plan_jobs
from vcprep.track.cache import TracksCache, cache_key, video_sha256
from vcprep.track.detectors import AnyDetector, build_detector
from vcprep.track.detectors.gt import boxes_from_samples
from vcprep.track.loop import track_stream
from vcprep.track.postprocess import compact_ids, drop_short_tracks, fill_gaps, join_fragments
from vcprep.track.quality import track_stats
from vcprep.track.trackers import AnyTracker, build_tracker

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


@dataclass
class Trackers:
    """The detector and tracker of a recipe, built once (per process or worker) and reused for every video.

    The `gt` detector reads the annotations, so it is rebuilt per video from that video's samples
    (cheap: no model); every other detector is shared.
    """

    detector_config: PluginConfig
    detector_params: dict[str, Any]
    detector: AnyDetector
    tracker: AnyTracker

    @classmethod
    def build(cls, config: PipelineConfig) -> Trackers:
        params = resolve_path_params(config.detector.params, config)
        probe_params = dict(params, boxes_by_frame={}) if config.detector.name == "gt" else params
        return cls(config.detector, params, build_detector(config.detector.name, probe_params),
                   build_tracker(config.tracker.name, resolve_path_params(config.tracker.params, config)))

    def detector_for(self, samples: Sequence[Sample]) -> tuple[AnyDetector, dict[str, Any]]:
        """The detector for one video and the parameters that identify it in the cache key."""
        if self.detector_config.name != "gt" or "boxes_by_frame" in self.detector_params:
            return self.detector, self.detector_params
        params = dict(self.detector_params, boxes_by_frame=boxes_from_samples(samples))
        return build_detector("gt", params), params


def track_segments(info: VideoInfo, samples: Sequence[Sample], decode: DecodeConfig) -> list[np.ndarray]:
    """Frame indices to track, as ordered disjoint segments of the whole-video grid at `track_fps`.

    The grid is the same whatever the samples, so a frame tracked for one recipe is the same frame
    for another; only which stretches of it are tracked depends on the samples' clips.
    """
    grid = sample_frame_indices(info=info, fps=decode.track_fps)
    if decode.track_whole_video or not samples or any(s.clip_span_seconds is None for s in samples):
        return [grid]
    margin = max(0.0, decode.track_margin_seconds)
    spans = sorted((s.clip_span_seconds[0] - margin, s.clip_span_seconds[1] + margin)  # type: ignore[index]
                   for s in samples)
    merged: list[list[float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    times = grid / info.fps
    segments = [grid[(times >= start - 1e-9) & (times <= end + 1e-9)] for start, end in merged]
    return [s for s in segments if s.size]


@dataclass
class SegmentPlan:
    frame_indices: np.ndarray
    key: str
    cached: Tracks | None


@dataclass
class TrackPlan:
    """What tracking one video takes: its segments, which the cache already holds, and the detector to run."""

    video_path: str
    segments: list[SegmentPlan]
    detector: AnyDetector
    cache: TracksCache | None
    cache_info: dict[str, Any] = field(default_factory=dict)

    def frames_to_decode(self) -> np.ndarray:
        todo = [s.frame_indices for s in self.segments if s.cached is None]
        return np.concatenate(todo) if todo else np.zeros(0, np.int64)

    @property
    def cache_hits(self) -> int:
        return sum(s.cached is not None for s in self.segments)


def plan_tracking(video_file: Path, info: VideoInfo, config: PipelineConfig, trackers: Trackers,
                  samples: Sequence[Sample], video_path: str) -> TrackPlan:
    detector, params = trackers.detector_for(samples)
    cache = TracksCache(config.resolve(config.tracks_cache)) if config.tracks_cache else None
    video_hash = video_sha256(video_file) if cache else ""
    segments = []
    for frames in track_segments(info, samples, config.decode):
        key = cache_key(video_hash, {"name": config.detector.name, "params": params},
                        {"name": config.tracker.name, "params": config.tracker.params},
                        {"track_fps": config.decode.track_fps, "backend": config.decode.backend,
                         "frames": [int(frames[0]), int(frames[-1]), int(frames.size)]}) if cache else ""
        cached = cache.get(video_path, key, int(frames[0]), int(frames[-1])) if cache else None
        segments.append(SegmentPlan(frames, key, cached))
    return TrackPlan(video_path, segments, detector, cache,
                     {"detector": config.detector.name, "tracker": config.tracker.name, "fps": info.fps,
                      "width": info.width, "height": info.height})


def run_tracking(plan: TrackPlan, tracker: AnyTracker,
                 frames_of: Callable[[np.ndarray], Iterator[Frame]]) -> Tracks:
    """Raw tracks of every segment (cached or computed from `frames_of(segment)`), IDs unique across segments."""
    parts = []
    for seg in plan.segments:
        raw = seg.cached
        if raw is None:
            raw = track_stream(frames_of(seg.frame_indices), detector=plan.detector, tracker=tracker)
            if plan.cache is not None:
                plan.cache.put(plan.video_path, seg.key, raw, plan.cache_info,
                               int(seg.frame_indices[0]), int(seg.frame_indices[-1]))
        parts.append(raw)
    return concat_segments(parts)


def concat_segments(parts: Sequence[Tracks]) -> Tracks:
    """One Tracks from independently tracked segments: each segment's IDs are shifted past the previous ones."""
    if len(parts) == 1:
        return parts[0]
    offset, shifted = 0, []
    for part in parts:
        shifted.append(Tracks(part.frame_index, part.pts_seconds, part.track_id + offset, part.xyxy, part.score,
                              part.class_id, mask_rle=part.mask_rle, frame_indices_tracked=part.frame_indices_tracked))
        if len(part):
            offset = int((part.track_id + offset).max())
    return Tracks.concat(shifted)


def postprocess(raw: Tracks, pp: PostprocessConfig, info: VideoInfo) -> Tracks:
    """Explicit steps: drop short tracks, join fragments (optional), fill short holes, compact IDs."""
    tracks = drop_short_tracks(raw, pp.min_track_length)
    if pp.join_max_gap_seconds > 0:
        tracks, _ = join_fragments(tracks, max_gap_frames=int(round(pp.join_max_gap_seconds * info.fps)),
                                   min_iou=pp.join_min_iou)
    tracks = fill_gaps(tracks, pp.fill_gaps_max_frames)
    tracks, _ = compact_ids(tracks)
    return tracks


def probe_video(data_root: Path, video_path: str, decode: DecodeConfig) -> tuple[Path, VideoInfo]:
    """Resolve a video under the data root and read its header (raises InputError / DecodeError)."""
    video_file = resolve_under(data_root, video_path)
    return video_file, probe(video_file, backend="av" if decode.backend == "av" else "cv2",
                             max_pixels=decode.max_pixels)


@dataclass
class TrackRunSummary:
    out_dir: str
    videos: int = 0
    cache_hits: int = 0
    computed: int = 0
    frames_tracked: int = 0
    seconds: float = 0.0
    errors: list[ErrorRecord] = field(default_factory=list)
    per_video: list[dict[str, Any]] = field(default_factory=list)


def run_track_stage(config: PipelineConfig, out_dir: str | Path, *, progress: bool = True,
                    limit: int | None = None) -> TrackRunSummary:
    """`vcprep track`: raw tracks of every video of the recipe into `out_dir` (segments already cached are skipped)."""
    t0 = time.perf_counter()
    config.tracks_cache = str(Path(out_dir).resolve())
    summary = TrackRunSummary(config.tracks_cache)
    jobs, errors = plan_jobs(config)
    summary.errors.extend(errors)
    trackers = Trackers.build(config)
    data_root = config.resolve(config.source.data_root)
    for job in first_videos(jobs, limit):
        t_video = time.perf_counter()
        try:
            video_file, info = probe_video(data_root, job.video_path, config.decode)
            plan = plan_tracking(video_file, info, config, trackers, job.samples, job.video_path)
            todo = plan.frames_to_decode()
            frames = FramePass(video_file, track=todo, backend=config.decode.backend)
            bar = tqdm(total=int(todo.size), desc=f"track {job.video_path}", disable=not progress, leave=False)

            def frames_of(indices: np.ndarray, frames: FramePass = frames, bar: tqdm = bar) -> Iterator[Frame]:
                for frame in frames.segment(indices):
                    bar.update(1)
                    yield frame

            raw = run_tracking(plan, trackers.tracker, frames_of)
            bar.close()
        except (InputError, DecodeError, ValueError, OSError, ImportError) as exc:
            summary.errors.extend(ErrorRecord("track", job.video_path, s.sample_id, str(exc)) for s in job.samples)
            continue
        hit = plan.cache_hits == len(plan.segments)
        summary.videos += 1
        summary.cache_hits += int(hit)
        summary.computed += int(not hit)
        summary.frames_tracked += int(raw.frame_indices_tracked.size)
        tracks = postprocess(raw, config.postprocess, info)
        summary.per_video.append({"video_path": job.video_path, "cache_hit": hit,
                                  "seconds": round(time.perf_counter() - t_video, 3), **track_stats(tracks)})
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
