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
    min_match_iou: float = 0.3
    """A ground-truth box votes for a track only when their IoU reaches this."""
    join_max_gap_seconds: float = 0.0
    """Join a track ending to one starting at most this long after it, where their boxes overlap (0: off)."""
    join_min_iou: float = 0.3
    """Box IoU between a fragment's last and the next fragment's first box needed to join them."""
    fill_gaps_max_frames: int = 2
    """Fill a track's holes of at most this many tracked frames (missed detections while the object
    stays in view) with boxes interpolated linearly between the two sides (0: off)."""
    render_min_mask_ratio: float = 1 / 3
    """Rendering only (STVG-R1): per frame, objects whose mask is smaller than this share of the largest
    mask are not drawn. Applies to tracks with masks; box-only tracks are drawn unfiltered."""


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
class PipelineConfig:
    name: str
    source: SourceConfig
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    detector: PluginConfig = field(default_factory=lambda: PluginConfig("hog"))
    tracker: PluginConfig = field(default_factory=lambda: PluginConfig("bytetrack"))
    postprocess: PostprocessConfig = field(default_factory=PostprocessConfig)
    variants: list[VariantConfig] = field(default_factory=list)
    output: OutputConfig = field(default_factory=OutputConfig)
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
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


class ConfigError(ValueError):
    pass


def _parse_variant(item: Any) -> VariantConfig:
    """`id_tags`, `id_tags+spotlight`, or `{name, renderers: [name | {name, ...params}]}`."""
    if isinstance(item, str):
        return VariantConfig(name=item, renderers=[PluginConfig(r) for r in item.split("+") if r])
    if isinstance(item, dict) and "name" in item:
        renderers = []
        for r in item.get("renderers") or [item["name"]]:
            if isinstance(r, str):
                renderers.append(PluginConfig(r))
            else:
                r = dict(r)
                renderers.append(PluginConfig(r.pop("name"), r.pop("params", None) or r))
        return VariantConfig(name=item["name"], renderers=renderers)
    raise ConfigError(f"variant must be a name or a mapping with 'name': {item!r}")


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
        if dataclasses.is_dataclass(hint):
            if hint is PluginConfig and isinstance(value, str):
                value = {"name": value}
            kwargs[key] = _build(hint, value, f"{where}.{key}")
        elif key == "variants":
            kwargs[key] = [_parse_variant(v) for v in value]
        else:
            origin = typing.get_origin(hint)
            if origin in (int, float) or hint in (int, float):
                value = hint(value)
            elif origin is types.UnionType and value is None:
                pass
            kwargs[key] = value
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
    return cfg
