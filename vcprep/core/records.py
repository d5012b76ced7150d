"""Typed records that cross stages: what one video's processing reports, and a whole run's summary.

They replace string-keyed dicts passed between the pipeline, the data card and the quality
report; `to_dict` / `from_dict` are the only JSON boundary (`meta/video_stats.jsonl`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vcprep.core.errors import ErrorRecord


@dataclass
class VideoStats:
    """Per-video facts of one run: tracking, decoding work and the ground-truth match of each sample."""

    video_path: str
    frames_tracked: int = 0
    """Frames the detector and tracker saw (or that the tracks cache held)."""
    frames_decoded: int = 0
    """Frames decoded in this run for this video (tracking and rendering share one pass)."""
    frames_detected: int = 0
    """Frames the detector ran on in this run (0 when every tracked segment came from the cache)."""
    num_ids: int = 0
    track_lengths: list[int] = field(default_factory=list)
    """Tracked frames per track (after post-processing)."""
    oracle_viou: list[float | None] = field(default_factory=list)
    """Per rendered sample: vIoU of the best single track (None without ground-truth boxes)."""
    match_votes: list[dict[str, int]] = field(default_factory=list)
    """Per rendered sample: annotated frames won by each track ID (STVG-R1's majority vote)."""
    cache_hits: int = 0
    """Tracked segments read from the tracks cache."""
    track_seconds: float = 0.0
    render_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoStats:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RunSummary:
    """What `vcprep render` did: counts, the errors of every bad input, per-video stats."""

    out_dir: str
    samples_written: int = 0
    samples_skipped: int = 0
    rows_written: int = 0
    errors: list[ErrorRecord] = field(default_factory=list)
    video_stats: list[VideoStats] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.errors)
