"""A Parquet cache of raw tracks, so rendering a new prompt variant never re-runs detection.

One file per tracked segment of a video (`<video path with / as __>.f<first>-<last>.parquet`).
Its schema metadata holds the cache key: a hash of the video's bytes, the detector and tracker
configuration and the frames that fed them. A lookup whose key differs is a miss and the file is
overwritten; a recipe that needs other stretches of the video adds files beside the old ones. Tracks are
stored *before* post-processing (minimum length, compact IDs, fragment joining), so changing
those steps reuses the cache too.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vcprep.core.types import Tracks

CACHE_FORMAT = "vcprep-tracks/3"
# 2: HOG boxes are the person, not the 64x128 window; 3: a track holds the detections it was born from
# before the tracker confirmed it
"""Bumped whenever the stored columns or the meaning of raw tracks change (invalidates old files)."""

_SCHEMA = pa.schema([
    ("frame_index", pa.int64()),
    ("pts_seconds", pa.float64()),
    ("track_id", pa.int64()),
    ("x1", pa.float32()),
    ("y1", pa.float32()),
    ("x2", pa.float32()),
    ("y2", pa.float32()),
    ("score", pa.float32()),
    ("class_id", pa.int32()),
    ("mask_rle", pa.string()),
])

_HASHES: dict[tuple[str, int, int], str] = {}


def video_sha256(path: str | Path) -> str:
    """sha256 of the file's bytes (memoised per path, size and mtime within the process)."""
    st = os.stat(path)
    memo = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if memo not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
        _HASHES[memo] = h.hexdigest()
    return _HASHES[memo]


def cache_key(video_hash: str, detector: dict[str, Any], tracker: dict[str, Any], sampling: dict[str, Any]) -> str:
    """Hash of everything raw tracks depend on; `sampling` is the track rate and the decoder."""
    blob = json.dumps({"format": CACHE_FORMAT, "video": video_hash, "detector": detector, "tracker": tracker,
                       "sampling": sampling}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def tracks_to_table(tracks: Tracks, metadata: dict[str, Any]) -> pa.Table:
    masks = tracks.mask_rle if tracks.mask_rle is not None else [None] * len(tracks)
    table = pa.table({
        "frame_index": tracks.frame_index.astype(np.int64),
        "pts_seconds": tracks.pts_seconds.astype(np.float64),
        "track_id": tracks.track_id.astype(np.int64),
        "x1": tracks.xyxy[:, 0].astype(np.float32),
        "y1": tracks.xyxy[:, 1].astype(np.float32),
        "x2": tracks.xyxy[:, 2].astype(np.float32),
        "y2": tracks.xyxy[:, 3].astype(np.float32),
        "score": tracks.score.astype(np.float32),
        "class_id": tracks.class_id.astype(np.int32),
        "mask_rle": pa.array(masks, pa.string()),
    }, schema=_SCHEMA)
    meta = dict(metadata, frame_indices_tracked=tracks.frame_indices_tracked.astype(int).tolist(),
                has_masks=tracks.mask_rle is not None)
    return table.replace_schema_metadata({"vcprep": json.dumps(meta, sort_keys=True, default=str)})


def table_meta(table_or_schema: pa.Table | pa.Schema) -> dict[str, Any]:
    schema = table_or_schema.schema if isinstance(table_or_schema, pa.Table) else table_or_schema
    raw = (schema.metadata or {}).get(b"vcprep")
    return json.loads(raw) if raw else {}


def table_to_tracks(table: pa.Table) -> Tracks:
    meta = table_meta(table)
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in _SCHEMA.names if name != "mask_rle"}
    out = Tracks(
        frame_index=cols["frame_index"].astype(np.int64),
        pts_seconds=cols["pts_seconds"].astype(np.float64),
        track_id=cols["track_id"].astype(np.int64),
        xyxy=np.stack([cols["x1"], cols["y1"], cols["x2"], cols["y2"]], axis=1).astype(np.float32).reshape(-1, 4),
        score=cols["score"].astype(np.float32),
        class_id=cols["class_id"].astype(np.int32),
        mask_rle=table.column("mask_rle").to_pylist() if meta.get("has_masks") else None,
    )
    out.frame_indices_tracked = np.asarray(meta.get("frame_indices_tracked", []), np.int64)
    return out


@dataclass
class TracksCache:
    """A folder of per-video track files; `get` returns None on a miss (absent, other key, unreadable)."""

    root: Path

    def path_for(self, video_path: str, first_frame: int, last_frame: int) -> Path:
        safe = video_path.replace("\\", "/").strip("/").replace("/", "__")
        return Path(self.root) / f"{safe}.f{first_frame}-{last_frame}.parquet"

    def get(self, video_path: str, key: str, first_frame: int, last_frame: int) -> Tracks | None:
        path = self.path_for(video_path, first_frame, last_frame)
        if not path.is_file():
            return None
        try:
            if table_meta(pq.read_schema(path)).get("key") != key:
                return None
            return table_to_tracks(pq.read_table(path))
        except (OSError, pa.ArrowException, ValueError, KeyError):
            return None  # a torn or foreign file is recomputed, never trusted

    def put(self, video_path: str, key: str, tracks: Tracks, info: dict[str, Any] | None,
            first_frame: int, last_frame: int) -> Path:
        """Write atomically (temp file + rename), so a killed run never leaves a half file behind."""
        path = self.path_for(video_path, first_frame, last_frame)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = tracks_to_table(tracks, {"key": key, "video_path": video_path, **(info or {})})
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        return path
