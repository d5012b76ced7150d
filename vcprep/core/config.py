"""The pipeline configuration: a typed tree of dataclasses read from a YAML recipe.

Relative paths in a recipe are resolved against the recipe's own folder, so a recipe works
from any working directory. Unknown keys are errors (a typo must not silently do nothing).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class PluginConfig:
    """A plug-in chosen by name, with keyword parameters passed to its constructor."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceConfig:
    name: str = "jsonl"
    """Dataset source plug-in (`jsonl`, ...)."""
    annotations: str = ""
    """Annotation file of the source, relative to the recipe."""
    data_root: str = "."
    """Folder videos are resolved under; a video path escaping it is rejected."""
    params: dict[str, Any] = field(default_factory=dict)
    """Source-specific options."""


@dataclass
class DecodeConfig:
    backend: str = "cv2"
    """Frame reader: `cv2` (fastest sequential), `av` (exact timestamps), `decord`."""
    track_fps: float = 5.0
    """Rate at which frames are fed to the detector and tracker (capped at the video's rate)."""
    track_margin_seconds: float = 2.0
    """Detection and tracking run only on the spans the video's samples need (their clips, or the
    whole video for a sample without one), widened by this margin so tracks are confirmed before a
    clip starts; spans that then overlap are tracked as one segment."""
    track_whole_video: bool = False
    """Track every frame of the video at `track_fps` instead of only the samples' spans."""
    max_pixels: int = 4096 * 4096
    """Frames larger than this are refused (decompression-bomb guard)."""


@dataclass
class SamplingConfig:
    fps: float = 2.0
    """Frames per second kept for the model, sampled by time."""
    max_frames: int = 32
    """Upper bound on frames per sample; uniform subsampling when the span needs more."""


@dataclass
class PostprocessConfig:
    min_track_length: int = 3
    """Tracks seen on fewer tracked frames are dropped before IDs are made compact."""
    join_max_gap_seconds: float = 0.0
    """Join a track ending to one starting at most this long after it, where their boxes overlap (0: off)."""
    join_min_iou: float = 0.3
    """Box IoU between a fragment's last and the next fragment's first box needed to join them."""
    fill_gaps_max_frames: int = 2
    """Fill a track's holes of at most this many tracked frames (missed detections while the object
    stays in view) with boxes interpolated linearly between the two sides (0: off)."""
    seed_targets: bool = False
    """A sample whose target no track matches (or whose class the detector cannot see) gets a track seeded
    from its ground-truth boxes and carried beyond them over its clip by a single-object tracker (OpenCV
    MIL), instead of being left out; rows record `target_match: seeded`. Off by default: the seeded
    target's box is the annotation, not what a detector would find at inference."""
    render_min_mask_ratio: float = 1 / 3
    """Rendering only (STVG-R1): per frame, objects whose mask is smaller than this share of the largest
    mask are not drawn. Applies to tracks with masks; box-only tracks are drawn unfiltered."""


MATCH_CONVENTIONS = ("strict", "stvg_r1")


@dataclass
class MatchConfig:
    """How a sample's target track is chosen from its ground-truth boxes (`vcprep.track.matching`)."""

    convention: str = "strict"
    """`strict`: each annotated frame votes for its best-overlapping track only at IoU >= `min_iou`, and the
    winner must hold `min_frames_share` of the annotated frames, else the sample is not written (it is
    recorded in meta/errors.jsonl). `stvg_r1`: the paper's rule, any overlap votes and the majority wins."""
    min_iou: float = 0.5
    """Box IoU a ground-truth box needs with a track's box to vote for it (`strict` only)."""
    min_frames_share: float = 0.5
    """Share of the sample's annotated frames the winning track must hold (`strict` only)."""


@dataclass
class VariantConfig:
    """One prompt variant: an ordered chain of renderers, stored under `name`."""

    name: str
    renderers: list[PluginConfig] = field(default_factory=list)


@dataclass
class OutputConfig:
    image_format: str = "jpeg"
    """Encoding of stored frames: `jpeg` or `png`."""
    jpeg_quality: int = 90
    """JPEG quality of stored frames, 1 to 100."""
    max_side: int = 640
    """Stored frames are resized so their longer side is at most this (0 keeps the source)."""
    max_shard_bytes: int = 500_000_000
    """A shard is closed before it would pass this many bytes (one larger sample gets its own shard)."""
    max_row_group_bytes: int = 100_000_000
    """Samples are packed into Parquet row groups of at most this many bytes; a sample's variants never split."""
    samples_per_shard: int = 1000
    """A shard is also closed after this many samples, which bounds work redone after a kill."""
    workers: int = 1
    """Processes that handle videos in parallel (each video is independent)."""
    license: str = "other"
    task_categories: list[str] = field(default_factory=lambda: ["video-text-to-text"])


@dataclass
class RayConfig:
    """Placement of work for `vcprep render --executor ray` (ignored by the local executors).

    Execution settings only: they change where work runs, never the rows, so they are left out of
    the recipe hash.
    """

    track_actors: int = 0
    """Detect+track actors, each loading the detector and tracker once (0: `--workers`, default 1)."""
    num_gpus_per_track_actor: float = 0.0
    """GPUs Ray reserves for each track actor (1 gives each its own GPU; 0.5 packs two on one)."""
    num_cpus_per_track_actor: float = 1.0
    """CPUs Ray reserves for each track actor."""
    render_workers: int = 0
    """Render+encode actors on CPUs; each writes its own shards (0: as many as track actors)."""
    num_cpus_per_render_worker: float = 1.0
    """CPUs Ray reserves for each render worker."""
    videos_in_flight_per_actor: int = 2
    """Videos queued per track actor, so it decodes the next while its last result is rendered."""
    max_restarts: int = 1
    """Times Ray restarts an actor whose process died; its lost video is then retried once."""


@dataclass
class PipelineConfig:
    name: str
    source: SourceConfig
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    detector: PluginConfig = field(default_factory=lambda: PluginConfig("ssdlite"))
    tracker: PluginConfig = field(default_factory=lambda: PluginConfig("bytetrack"))
    postprocess: PostprocessConfig = field(default_factory=PostprocessConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    variants: list[VariantConfig] = field(default_factory=list)
    output: OutputConfig = field(default_factory=OutputConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    tracks_cache: str = ""
    """Folder of cached raw tracks (written by `vcprep track`); render reuses a video's tracks when the
    video, detector, tracker and track rate match, and adds missing ones. Empty: no cache."""
    base_dir: str = "."
    """Folder of the recipe file; relative paths resolve against it (set by the loader)."""

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (Path(self.base_dir) / p).resolve()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("base_dir")
        return d

    def hash(self) -> str:
        d = self.to_dict()
        d.pop("ray")  # placement only: the same rows on any cluster shape
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


class ConfigError(ValueError):
    pass


IMAGE_FORMATS = ("jpeg", "png")
DECODE_BACKENDS = ("cv2", "av", "decord")
"""The frame readers of vcprep.decode.video (kept here so a typo fails at load, before any video)."""


def _parse_variant(item: Any, where: str = "variants") -> VariantConfig:
    """`id_tags`, `id_tags+spotlight`, or `{name, renderers: [name | {name, ...params}]}`."""
    if isinstance(item, str):
        return VariantConfig(name=item, renderers=[PluginConfig(r) for r in item.split("+") if r])
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        renderers = []
        listed = item.get("renderers") or [item["name"]]
        if not isinstance(listed, list):
            raise ConfigError(f"{where}.renderers: expected a list, got {type(listed).__name__}")
        for j, r in enumerate(listed):
            if isinstance(r, str):
                renderers.append(PluginConfig(r))
            elif isinstance(r, dict) and isinstance(r.get("name"), str):
                r = dict(r)
                params = r.pop("params", None) or r
                if not isinstance(params, dict):
                    raise ConfigError(f"{where}.renderers[{j}].params: expected a mapping")
                renderers.append(PluginConfig(r.pop("name"), params))
            else:
                raise ConfigError(f"{where}.renderers[{j}]: expected a name or a mapping with 'name', got {r!r}")
        return VariantConfig(name=item["name"], renderers=renderers)
    raise ConfigError(f"{where}: variant must be a name or a mapping with 'name': {item!r}")


def _typed(value: Any, hint: Any, where: str) -> Any:
    """`value` checked against a field's type hint; ConfigError names the key and the type found.

    Numbers written as numbers only (a bool is not a number); an int field takes a whole float.
    """
    origin = typing.get_origin(hint) or hint
    if origin is types.UnionType:
        if value is None and type(None) in typing.get_args(hint):
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin = typing.get_origin(hint) or hint
    found = type(value).__name__
    if origin in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {found} {value!r}")
        if origin is int:
            if not float(value).is_integer():
                raise ConfigError(f"{where}: expected a whole number, got {value!r}")
            return int(value)
        return float(value)
    if origin in (list, dict) and value is None:  # `params:` left empty in YAML
        return origin()
    if origin in (str, bool, list, dict) and not isinstance(value, origin):
        raise ConfigError(f"{where}: expected {origin.__name__}, got {found} {value!r}")
    return value


def _check_values(cfg: PipelineConfig) -> None:
    """Ranges and choices, each named by its recipe key, so no video is read with a value that cannot work."""
    d, s, o, p, m = cfg.decode, cfg.sampling, cfg.output, cfg.postprocess, cfg.match
    rules: list[tuple[str, Any, bool, str]] = [
        ("decode.backend", d.backend, d.backend in DECODE_BACKENDS, f"one of {', '.join(DECODE_BACKENDS)}"),
        ("decode.track_fps", d.track_fps, d.track_fps > 0, "> 0"),
        ("decode.track_margin_seconds", d.track_margin_seconds, d.track_margin_seconds >= 0, ">= 0"),
        ("decode.max_pixels", d.max_pixels, d.max_pixels > 0, "> 0"),
        ("sampling.fps", s.fps, s.fps > 0, "> 0"),
        ("sampling.max_frames", s.max_frames, s.max_frames >= 1, ">= 1"),
        ("postprocess.min_track_length", p.min_track_length, p.min_track_length >= 1, ">= 1"),
        ("match.convention", m.convention, m.convention in MATCH_CONVENTIONS, f"one of {', '.join(MATCH_CONVENTIONS)}"),
        ("match.min_iou", m.min_iou, 0 < m.min_iou <= 1, "in (0, 1]"),
        ("match.min_frames_share", m.min_frames_share, 0 <= m.min_frames_share <= 1, "in [0, 1]"),
        ("postprocess.join_max_gap_seconds", p.join_max_gap_seconds, p.join_max_gap_seconds >= 0, ">= 0"),
        ("postprocess.join_min_iou", p.join_min_iou, 0 <= p.join_min_iou <= 1, "in [0, 1]"),
        ("postprocess.render_min_mask_ratio", p.render_min_mask_ratio, 0 <= p.render_min_mask_ratio <= 1, "in [0, 1]"),
        ("output.image_format", o.image_format, o.image_format in IMAGE_FORMATS, f"one of {', '.join(IMAGE_FORMATS)}"),
        ("output.jpeg_quality", o.jpeg_quality, 1 <= o.jpeg_quality <= 100, "in [1, 100]"),
        ("output.max_side", o.max_side, o.max_side >= 0, ">= 0 (0 keeps the source size)"),
        ("output.max_shard_bytes", o.max_shard_bytes, o.max_shard_bytes > 0, "> 0"),
        ("output.max_row_group_bytes", o.max_row_group_bytes, o.max_row_group_bytes > 0, "> 0"),
        ("output.samples_per_shard", o.samples_per_shard, o.samples_per_shard >= 1, ">= 1"),
        ("output.workers", o.workers, o.workers >= 1, ">= 1"),
        ("source.name", cfg.source.name, bool(cfg.source.name), "a source name"),
        ("name", cfg.name, bool(cfg.name), "a non-empty name"),
    ]
    for key, value, ok, want in rules:
        if not ok:  # NaN fails every comparison, so it is refused here too
            raise ConfigError(f"{key}: {value!r} is not allowed; must be {want}")


def _build(cls: type, data: Any, where: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(names)}")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            if hint is PluginConfig and isinstance(value, str):
                value = {"name": value}
            kwargs[key] = _build(hint, value, f"{where}.{key}")
        elif key == "variants":
            if not isinstance(value, list):
                raise ConfigError(f"{where}.variants: expected a list, got {type(value).__name__}")
            kwargs[key] = [_parse_variant(v, f"variants[{i}]") for i, v in enumerate(value)]
        else:
            kwargs[key] = _typed(value, hint, f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def load_pipeline(path: str | Path) -> PipelineConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pipeline file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or "name" not in data or "source" not in data:
        raise ConfigError(f"{path}: a pipeline needs at least 'name' and 'source'")
    cfg = _build(PipelineConfig, data, path.name)
    cfg.base_dir = str(path.resolve().parent)
    if not cfg.variants:
        cfg.variants = [_parse_variant("raw")]
    _check_values(cfg)
    return cfg
