"""The pipeline configuration: a typed tree of dataclasses read from a YAML recipe.

Relative paths in a recipe are resolved against the recipe's own folder, so a recipe works
from any working directory. The rules are the shared ones of `vcconfig` (also vctrain's): unknown keys
are errors (a typo must not silently do nothing), every value has a type, every choice its list and
every number its range (written in the field's type), all checked when the recipe loads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from vcconfig import ConfigError, Range, build, load_yaml_file

MAX_FPS = 1000.0
"""No video or sampling rate above this (a rate is what frame indices are computed from)."""
MAX_SPAN_SECONDS = 3600.0
"""Longest margin or gap a recipe may name, in seconds."""
MAX_BYTES = 1 << 40
"""Largest byte size a recipe may name (1 TiB)."""
MAX_PROCESSES = 1024
"""Most processes or actors a recipe may ask for: far above one machine, far below what exhausts it."""


@dataclass
class PluginConfig:
    """A plug-in chosen by name, with keyword parameters passed to its constructor."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, value: Any, where: str) -> PluginConfig:
        """`hog` or `{name: hog, params: {...}}`."""
        return build(cls, {"name": value} if isinstance(value, str) else value, where)


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
    backend: Literal["cv2", "av", "decord"] = "cv2"
    """Frame reader: `cv2` (fastest sequential), `av` (exact timestamps), `decord`."""
    track_fps: Annotated[float, Range(gt=0, le=MAX_FPS)] = 5.0
    """Rate at which frames are fed to the detector and tracker (capped at the video's rate)."""
    track_margin_seconds: Annotated[float, Range(ge=0, le=MAX_SPAN_SECONDS)] = 2.0
    """Detection and tracking run only on the spans the video's samples need (their clips, or the
    whole video for a sample without one), widened by this margin so tracks are confirmed before a
    clip starts; spans that then overlap are tracked as one segment."""
    track_whole_video: bool = False
    """Track every frame of the video at `track_fps` instead of only the samples' spans."""
    max_pixels: Annotated[int, Range(ge=1, le=1 << 30)] = 4096 * 4096
    """Frames larger than this are refused (decompression-bomb guard)."""


@dataclass
class SamplingConfig:
    fps: Annotated[float, Range(gt=0, le=MAX_FPS)] = 2.0
    """Frames per second kept for the model, sampled by time."""
    max_frames: Annotated[int, Range(ge=1, le=10_000)] = 32
    """Upper bound on frames per sample; uniform subsampling when the span needs more."""


@dataclass
class PostprocessConfig:
    min_track_length: Annotated[int, Range(ge=1, le=1_000_000)] = 3
    """Tracks seen on fewer tracked frames are dropped before IDs are made compact."""
    join_max_gap_seconds: Annotated[float, Range(ge=0, le=MAX_SPAN_SECONDS, note="0: off")] = 0.0
    """Join a track ending to one starting at most this long after it, where their boxes overlap (0: off)."""
    join_min_iou: Annotated[float, Range(ge=0, le=1)] = 0.3
    """Box IoU between a fragment's last and the next fragment's first box needed to join them."""
    fill_gaps_max_frames: Annotated[int, Range(ge=0, le=10_000, note="0: off")] = 2
    """Fill a track's holes of at most this many tracked frames (missed detections while the object
    stays in view) with boxes interpolated linearly between the two sides (0: off)."""
    seed_targets: bool = False
    """A sample whose target no track matches (or whose class the detector cannot see) gets a track seeded
    from its ground-truth boxes and carried beyond them over its clip by a single-object tracker (OpenCV
    MIL), instead of being left out; rows record `target_match: seeded`. Off by default: the seeded
    target's box is the annotation, not what a detector would find at inference."""
    render_min_mask_ratio: Annotated[float, Range(ge=0, le=1)] = 1 / 3
    """Rendering only (STVG-R1): per frame, objects whose mask is smaller than this share of the largest
    mask are not drawn. Applies to tracks with masks; box-only tracks are drawn unfiltered."""


@dataclass
class MatchConfig:
    """How a sample's target track is chosen from its ground-truth boxes (`vcprep.track.matching`)."""

    convention: Literal["strict", "stvg_r1"] = "strict"
    """`strict`: each annotated frame votes for its best-overlapping track only at IoU >= `min_iou`, and the
    winner must hold `min_frames_share` of the annotated frames, else the sample is not written (it is
    recorded in meta/errors.jsonl). `stvg_r1`: the paper's rule, any overlap votes and the majority wins."""
    min_iou: Annotated[float, Range(gt=0, le=1)] = 0.5
    """Box IoU a ground-truth box needs with a track's box to vote for it (`strict` only)."""
    min_frames_share: Annotated[float, Range(ge=0, le=1)] = 0.5
    """Share of the sample's annotated frames the winning track must hold (`strict` only)."""


@dataclass
class VariantConfig:
    """One prompt variant: an ordered chain of renderers, stored under `name`."""

    name: str
    renderers: list[PluginConfig] = field(default_factory=list)

    @classmethod
    def from_config(cls, value: Any, where: str) -> VariantConfig:
        return _parse_variant(value, where)


@dataclass
class OutputConfig:
    image_format: Literal["jpeg", "png"] = "jpeg"
    """Encoding of stored frames: `jpeg` or `png`."""
    jpeg_quality: Annotated[int, Range(ge=1, le=100)] = 90
    """JPEG quality of stored frames, 1 to 100."""
    max_side: Annotated[int, Range(ge=0, le=16_384, note="0 keeps the source size")] = 640
    """Stored frames are resized so their longer side is at most this (0 keeps the source)."""
    max_shard_bytes: Annotated[int, Range(ge=1, le=MAX_BYTES)] = 500_000_000
    """A shard is closed before it would pass this many bytes (one larger sample gets its own shard)."""
    max_row_group_bytes: Annotated[int, Range(ge=1, le=MAX_BYTES)] = 100_000_000
    """Samples are packed into Parquet row groups of at most this many bytes; a sample's variants never split."""
    samples_per_shard: Annotated[int, Range(ge=1, le=1_000_000)] = 1000
    """A shard is also closed after this many samples, which bounds work redone after a kill."""
    workers: Annotated[int, Range(ge=1, le=MAX_PROCESSES)] = 1
    """Processes that handle videos in parallel (each video is independent)."""
    license: str = "other"
    task_categories: list[str] = field(default_factory=lambda: ["video-text-to-text"])


@dataclass
class RayConfig:
    """Placement of work for `vcprep render --executor ray` (ignored by the local executors).

    Execution settings only: they change where work runs, never the rows, so they are left out of
    the recipe hash.
    """

    track_actors: Annotated[int, Range(ge=0, le=MAX_PROCESSES, note="0: --workers")] = 0
    """Detect+track actors, each loading the detector and tracker once (0: `--workers`, default 1)."""
    num_gpus_per_track_actor: Annotated[float, Range(ge=0, le=64)] = 0.0
    """GPUs Ray reserves for each track actor (1 gives each its own GPU; 0.5 packs two on one)."""
    num_cpus_per_track_actor: Annotated[float, Range(ge=0, le=MAX_PROCESSES)] = 1.0
    """CPUs Ray reserves for each track actor."""
    render_workers: Annotated[int, Range(ge=0, le=MAX_PROCESSES, note="0: as many as track actors")] = 0
    """Render+encode actors on CPUs; each writes its own shards (0: as many as track actors)."""
    num_cpus_per_render_worker: Annotated[float, Range(ge=0, le=MAX_PROCESSES)] = 1.0
    """CPUs Ray reserves for each render worker."""
    videos_in_flight_per_actor: Annotated[int, Range(ge=1, le=1024)] = 2
    """Videos queued per track actor, so it decodes the next while its last result is rendered."""
    max_restarts: Annotated[int, Range(ge=0, le=1000)] = 1
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
    """How each sample's target is matched to a track, and which matches are refused."""
    variants: list[VariantConfig] = field(default_factory=list)
    """Prompt variants, each a name (`id_tags+spotlight`) or `{name, renderers}`; empty: `raw` only."""
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


def _parse_variant(item: Any, where: str = "variants") -> VariantConfig:
    """`id_tags`, `id_tags+spotlight`, or `{name, renderers: [name | {name, ...params}]}`."""
    if isinstance(item, str):
        return VariantConfig(name=item, renderers=[PluginConfig(r) for r in item.split("+") if r])
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        unknown = sorted(set(item) - {"name", "renderers"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: ['name', 'renderers']")
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
                renderers.append(PluginConfig.from_config({"name": r.pop("name"), "params": params},
                                                          f"{where}.renderers[{j}]"))
            else:
                raise ConfigError(f"{where}.renderers[{j}]: expected a name or a mapping with 'name', got {r!r}")
        return VariantConfig(name=item["name"], renderers=renderers)
    raise ConfigError(f"{where}: variant must be a name or a mapping with 'name': {item!r}")


def _check_names(cfg: PipelineConfig) -> None:
    """The two strings that may not be empty (every other value is checked by its field's type)."""
    for key, value in (("name", cfg.name), ("source.name", cfg.source.name)):
        if not value.strip():
            raise ConfigError(f"{key}: {value!r} is not allowed; must be a non-empty name")


def parse_pipeline(data: Any, where: str) -> PipelineConfig:
    """A PipelineConfig from a recipe's parsed YAML; ConfigError names `where` and the key."""
    if not isinstance(data, dict) or "name" not in data or "source" not in data:
        raise ConfigError(f"{where}: a pipeline needs at least 'name' and 'source'")
    if "base_dir" in data:
        raise ConfigError(f"{where}: base_dir: set by the loader (the recipe's folder), not by a recipe")
    try:
        cfg: PipelineConfig = build(PipelineConfig, data)
        if not cfg.variants:
            cfg.variants = [_parse_variant("raw")]
        _check_names(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return cfg


def load_pipeline(path: str | Path) -> PipelineConfig:
    """The recipe at `path`, read within vcconfig's limits and checked key by key before anything runs."""
    path = Path(path)
    cfg = parse_pipeline(load_yaml_file(path, "pipeline file"), path.name)
    cfg.base_dir = str(path.resolve().parent)
    return cfg
