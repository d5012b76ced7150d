"""A tracks cache from someone else: a planted symlink is never written through, a damaged or foreign file
is a miss (recomputed, never a crash, never another recipe's tracks), and a read is one consistent step
even while another recipe rewrites the same file."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from test_tracks_cache import _recipe, _track, short_clip  # noqa: F401 - short_clip is a fixture

from vcprep.core.masks import rle_encode
from vcprep.core.types import Tracks
from vcprep.track.cache import TracksCache, tracks_to_table


def _tracks(seed: int, n: int = 12) -> Tracks:
    """Real-looking raw tracks: boxes drifting over `n` frames, one mask each (values from the seed)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 300, (n, 2)).astype(np.float32)
    masks = []
    for i in range(n):
        m = np.zeros((16, 20), bool)
        m[i % 8: i % 8 + 5, 3: 3 + seed % 7 + 2] = True
        masks.append(rle_encode(m))
    tracks = Tracks(np.arange(n, dtype=np.int64) * 2, np.arange(n) * 0.2, rng.integers(1, 4, n).astype(np.int64),
                    np.concatenate([xy, xy + 40], axis=1), rng.uniform(0.3, 1, n).astype(np.float32),
                    np.zeros(n, np.int32), mask_rle=masks)
    tracks.frame_indices_tracked = np.arange(0, 2 * n, 2, dtype=np.int64)
    return tracks


def _same(a: Tracks, b: Tracks) -> bool:
    return (np.array_equal(a.frame_index, b.frame_index) and np.array_equal(a.pts_seconds, b.pts_seconds)
            and np.array_equal(a.track_id, b.track_id) and np.array_equal(a.xyxy, b.xyxy)
            and np.array_equal(a.score, b.score) and np.array_equal(a.class_id, b.class_id)
            and a.mask_rle == b.mask_rle and np.array_equal(a.frame_indices_tracked, b.frame_indices_tracked))


def test_a_symlink_planted_at_any_temporary_or_final_name_is_never_written_through(tmp_path: Path) -> None:
    cache = TracksCache(tmp_path / "cache")
    cache.root.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    final = cache.path_for("v.mp4", 0, 22)
    # the temporary name the writer used before (`<file>.tmp<pid>`), and the final name itself
    final.with_suffix(f".tmp{os.getpid()}").symlink_to(victim)
    cache.put("v.mp4", "k", _tracks(1), None, 0, 22)
    assert victim.read_text() == "precious"
    final.unlink()
    final.symlink_to(victim)
    assert cache.get("v.mp4", "k", 0, 22) is None  # a link is not read through
    cache.put("v.mp4", "k", _tracks(1), None, 0, 22)
    assert victim.read_text() == "precious" and not final.is_symlink()  # the rename replaced the link itself
    assert _same(cache.get("v.mp4", "k", 0, 22), _tracks(1))
    assert not [p for p in cache.root.iterdir() if p.name.endswith(".tmp")]  # no temporary file left behind


def test_every_single_bit_flip_is_a_miss_or_the_same_tracks(tmp_path: Path) -> None:
    cache = TracksCache(tmp_path)
    original = _tracks(3, 4)
    path = cache.put("v.mp4", "k", original, None, 0, 22)
    good = path.read_bytes()
    changed, missed = 0, 0
    for bit in range(0, len(good) * 8, 9):  # every ninth bit of the file
        data = bytearray(good)
        data[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(data))
        got = cache.get("v.mp4", "k", 0, 22)
        if got is None:
            missed += 1
        elif not _same(got, original):
            changed += 1
    assert changed == 0, f"{changed} bit flips changed the tracks with no error"
    assert missed > 0  # the flips were really read (the checksum or Parquet refused them)


def _write_with_meta(path: Path, tracks: Tracks, meta: object) -> None:
    table = tracks_to_table(tracks, {"key": "k"})
    pq.write_table(table.replace_schema_metadata({"vcprep": json.dumps(meta)}), path)


def test_damaged_metadata_with_the_right_key_is_a_miss_not_a_crash(tmp_path: Path) -> None:
    cache = TracksCache(tmp_path)
    path = cache.path_for("v.mp4", 0, 22)
    tracks = _tracks(4)
    for meta in ({"key": "k", "frame_indices_tracked": {"a": 1}, "has_masks": True},
                 {"key": "k", "frame_indices_tracked": "0,2,4", "has_masks": "yes"},
                 {"key": "k", "has_masks": True, "frame_indices_tracked": [0, 2], "deep": None}):
        _write_with_meta(path, tracks, meta)
        assert cache.get("v.mp4", "k", 0, 22) is None, meta
    deep = '{"key": "k", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"  # RecursionError in json.loads
    table = tracks_to_table(tracks, {"key": "k"}).replace_schema_metadata({"vcprep": deep})
    pq.write_table(table, path)
    assert cache.get("v.mp4", "k", 0, 22) is None
    other = tracks_to_table(tracks, {"key": "k"}).rename_columns(
        ["frame_index", "pts_seconds", "track_id", "x1", "y1", "x2", "y2", "score", "class", "mask_rle"])
    pq.write_table(other, path)  # a column renamed: a file of another layout
    assert cache.get("v.mp4", "k", 0, 22) is None
    pq.write_table(pa.table({"a": [1]}).replace_schema_metadata({"vcprep": '"k"'}), path)
    assert cache.get("v.mp4", "k", 0, 22) is None


def test_a_reader_never_gets_the_other_recipes_tracks_under_a_concurrent_writer(tmp_path: Path) -> None:
    """Two recipes share one cache file name (same video, same frames, other keys); one rewrites it while
    the other reads. Every read is a miss or exactly its own tracks."""
    cache = TracksCache(tmp_path)
    mine, theirs = _tracks(5, 40), _tracks(6, 40)
    cache.put("v.mp4", "mine", mine, None, 0, 78)
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            cache.put("v.mp4", "theirs", theirs, None, 0, 78)
            cache.put("v.mp4", "mine", mine, None, 0, 78)

    thread = threading.Thread(target=writer)
    thread.start()
    reads, wrong, hits = 0, 0, 0
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            got = cache.get("v.mp4", "mine", 0, 78)
            reads += 1
            if got is not None:
                hits += 1
                wrong += not _same(got, mine)
    finally:
        stop.set()
        thread.join()
    assert wrong == 0, f"{wrong} of {reads} reads returned the other recipe's tracks"
    assert hits > 0 and reads > 100


def test_a_damaged_cache_file_is_recomputed_by_the_real_track_command(short_clip: Path, tmp_path: Path) -> None:  # noqa: F811
    cache = tmp_path / "tracks"
    assert "1 computed, 0 from cache" in _track(_recipe(short_clip.parent), cache)
    (path,) = cache.glob("*.parquet")
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"vcprep"])
    # the right key, a crafted body: frame_indices_tracked of the wrong type, then nested past recursion limits
    pq.write_table(table.replace_schema_metadata({"vcprep": json.dumps({**meta, "frame_indices_tracked": 7})}), path)
    assert "1 computed, 0 from cache" in _track(_recipe(short_clip.parent), cache)
    pq.write_table(table.replace_schema_metadata(
        {"vcprep": json.dumps({**meta, "frame_indices_tracked": [[[0]]]})}), path)
    assert "1 computed, 0 from cache" in _track(_recipe(short_clip.parent), cache)
    assert "0 computed, 1 from cache" in _track(_recipe(short_clip.parent), cache)
