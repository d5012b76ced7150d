"""A Parquet cache of raw tracks, so rendering a new prompt variant never re-runs detection.

One file per tracked segment of a video (`<video path with / as __>.f<first>-<last>.parquet`).
Its schema metadata holds the cache key: a hash of the video's bytes, the detector and tracker
configuration and the frames that fed them. A lookup whose key differs is a miss and the file is
overwritten; a recipe that needs other stretches of the video adds files beside the old ones. Tracks are
stored *before* post-processing (minimum length, compact IDs, fragment joining), so changing
those steps reuses the cache too.

A cache folder may be shared or copied from someone else, so nothing in it is trusted:
- a file is read in one step (its bytes once, then parsed), so its key and its tracks come from the
  same file even while another recipe replaces it;
- the metadata carries a sha256 of the decoded tracks, recomputed on every read; a file whose
  checksum, key, metadata types or columns are wrong is a miss and is recomputed, never an error;
- a write goes to a fresh temporary file created with O_EXCL in the cache folder (`mkstemp`),
  then renamed over the final name: a symlink planted at any name is never followed, and the
  rename replaces a planted link itself, not its target.
The checksum catches damage and mix-ups, not forgery: whoever can write the folder can write
valid files of their own (see the README's security notes).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vcprep.core.types import Tracks

CACHE_FORMAT = "vcprep-tracks/4"
# 2: HOG boxes are the person, not the 64x128 window; 3: a track holds the detections it was born from
# before the tracker confirmed it; 4: a sha256 of the tracks in the metadata
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


def tracks_sha256(tracks: Tracks, key: str) -> str:
    """sha256 of the tracks as stored (each array in its stored dtype, masks as JSON) and the cache key."""
    h = hashlib.sha256(key.encode())
    for array, dtype in ((tracks.frame_index, np.int64), (tracks.pts_seconds, np.float64),
                         (tracks.track_id, np.int64), (tracks.xyxy, np.float32), (tracks.score, np.float32),
                         (tracks.class_id, np.int32), (tracks.frame_indices_tracked, np.int64)):
        data = np.ascontiguousarray(array, dtype=dtype)
        h.update(f"{data.shape}".encode())
        h.update(data.tobytes())
    h.update(json.dumps(tracks.mask_rle).encode())
    return h.hexdigest()


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
    meta["sha256"] = tracks_sha256(tracks, str(metadata.get("key", "")))
    return table.replace_schema_metadata({"vcprep": json.dumps(meta, sort_keys=True, default=str)})


def table_meta(table_or_schema: pa.Table | pa.Schema) -> dict[str, Any]:
    schema = table_or_schema.schema if isinstance(table_or_schema, pa.Table) else table_or_schema
    raw = (schema.metadata or {}).get(b"vcprep")
    return json.loads(raw) if raw else {}


class CacheFileError(ValueError):
    """A cache file that cannot be trusted: wrong columns, metadata of the wrong type, or a checksum mismatch."""


def table_to_tracks(table: pa.Table) -> Tracks:
    """Tracks of a cache table whose columns and metadata types are checked (CacheFileError otherwise)."""
    meta = table_meta(table)
    if not isinstance(meta, dict):
        raise CacheFileError(f"metadata is a {type(meta).__name__}, expected an object")
    if not table.schema.remove_metadata().equals(_SCHEMA):
        raise CacheFileError("columns differ from the cache schema")
    tracked = meta.get("frame_indices_tracked", [])
    if not isinstance(tracked, list) or not all(type(i) is int for i in tracked):
        raise CacheFileError("frame_indices_tracked is not a list of integers")
    if not isinstance(meta.get("has_masks", False), bool):
        raise CacheFileError("has_masks is not a boolean")
    if any(table.column(name).null_count for name in _SCHEMA.names if name != "mask_rle"):
        raise CacheFileError("a numeric column holds nulls")
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
    out.frame_indices_tracked = np.asarray(tracked, np.int64)
    return out


@dataclass
class TracksCache:
    """A folder of per-video track files; `get` returns None on a miss (absent, other key, unreadable)."""

    root: Path

    def path_for(self, video_path: str, first_frame: int, last_frame: int) -> Path:
        safe = video_path.replace("\\", "/").strip("/").replace("/", "__")
        return Path(self.root) / f"{safe}.f{first_frame}-{last_frame}.parquet"

    def get(self, video_path: str, key: str, first_frame: int, last_frame: int) -> Tracks | None:
        """The cached tracks, or None: absent, another key, damaged, or a checksum that does not match.

        The file's bytes are read once and everything (key, tracks, checksum) comes from them, so a
        concurrent writer replacing the file can never pair one recipe's key with another's tracks.
        """
        path = self.path_for(video_path, first_frame, last_frame)
        try:  # no symlink followed, no FIFO waited on: only a regular file of the folder is read
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            data = fh.read()
        return _decode_cached(data, key)

    def put(self, video_path: str, key: str, tracks: Tracks, info: dict[str, Any] | None,
            first_frame: int, last_frame: int) -> Path:
        """Write atomically and safely: a fresh O_EXCL temp file in the cache folder, fsynced, renamed."""
        path = self.path_for(video_path, first_frame, last_frame)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = tracks_to_table(tracks, {**(info or {}), "key": key, "video_path": video_path})
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide a shared cache from the team
            with os.fdopen(fd, "wb") as fh:
                pq.write_table(table, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        return path


def _decode_cached(data: bytes, key: str) -> Tracks | None:
    """Tracks from one cache file's bytes when its key and checksum match; None for anything else.

    Any failure to parse is a miss: the bytes are untrusted, and a crafted file can make Parquet,
    JSON or numpy raise almost anything (recursion, attribute, overflow errors)."""
    try:
        table = pq.read_table(pa.BufferReader(data))
        meta = table_meta(table)
        if not isinstance(meta, dict) or meta.get("key") != key:
            return None
        tracks = table_to_tracks(table)
        if meta.get("sha256") != tracks_sha256(tracks, key):
            return None
        return tracks
    except Exception:  # see the docstring: damaged input is a miss, recomputed
        return None

