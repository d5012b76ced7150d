"""The tracks cache — `vcprep track` writes Parquet per video, a second run is a hit, a changed
config recomputes, and `vcprep render` reuses the cached tracks without running detection."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from vcprep.cli import app
from vcprep.core.masks import rle_encode
from vcprep.core.types import Tracks
from vcprep.decode.video import read_frames
from vcprep.track.cache import TracksCache, table_to_tracks, tracks_to_table, video_sha256

ROOT = Path(__file__).resolve().parents[1]
ANN = json.loads((ROOT / "pipelines/annotations/vtest_demo.jsonl").read_text().splitlines()[0])


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory, vtest_path: Path) -> Path:
    """Frames 40..79 of vtest.avi (the annotated walker) as a 4-second MJPG file."""
    folder = tmp_path_factory.mktemp("clip")
    path = folder / "walker.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for frame in read_frames(vtest_path, np.arange(40, 80)):
        writer.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
    writer.release()
    boxes = {str(int(k) - 40): v for k, v in ANN["boxes"].items() if 40 <= int(k) < 80}
    rec = {"id": "walker", "video": "walker.avi", "question": ANN["question"], "span_seconds": [0.6, 3.6],
           "boxes": boxes}
    (folder / "ann.jsonl").write_text(json.dumps(rec) + "\n")
    return path


def _recipe(folder: Path, lost_track_buffer: int = 10, variants: list[str] | None = None) -> Path:
    recipe = {
        "name": "cache-test",
        "source": {"name": "jsonl", "annotations": "ann.jsonl", "data_root": "."},
        "decode": {"track_fps": 5.0},
        "detector": {"name": "hog", "params": {"scale": 1.1}},
        "tracker": {"name": "bytetrack", "params": {"frame_rate": 5.0, "lost_track_buffer": lost_track_buffer}},
        "variants": variants or ["raw"],
    }
    path = folder / f"recipe-{lost_track_buffer}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _track(recipe: Path, out: Path) -> str:
    result = CliRunner().invoke(app, ["track", str(recipe), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return result.output


def test_cache_hit_on_second_run_and_miss_after_a_config_change(short_clip: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = short_clip.parent
    cache = tmp_path / "tracks"
    first = _track(_recipe(folder), cache)
    assert "1 computed, 0 from cache" in first
    files = list(cache.glob("*.parquet"))
    assert [f.name for f in files] == ["walker.avi.f0-38.parquet"]  # one tracked segment: frames 0..38
    table = pq.read_table(files[0])
    assert table.column_names == ["frame_index", "pts_seconds", "track_id", "x1", "y1", "x2", "y2", "score",
                                  "class_id", "mask_rle"]
    assert table.num_rows > 0 and set(table.column("frame_index").to_pylist()) <= set(range(0, 40, 2))
    stamp = files[0].stat().st_mtime_ns

    second = _track(_recipe(folder), cache)
    assert "0 computed, 1 from cache" in second and files[0].stat().st_mtime_ns == stamp

    changed = _track(_recipe(folder, lost_track_buffer=3), cache)
    assert "1 computed, 0 from cache" in changed and files[0].stat().st_mtime_ns != stamp

    # render with the cache never runs the detector: a new variant costs rendering only
    from vcprep.track.detectors.hog import HOGPersonDetector

    def no_detection(*args: object, **kwargs: object) -> None:
        raise AssertionError("detection ran although the tracks were cached")

    monkeypatch.setattr(HOGPersonDetector, "detect", no_detection)
    recipe = _recipe(folder, lost_track_buffer=3, variants=["id_tags", "boxes"])
    result = CliRunner().invoke(app, ["render", str(recipe), "--out", str(tmp_path / "ds"), "--tracks", str(cache),
                                      "-q"])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(next((tmp_path / "ds" / "data").glob("*.parquet")), columns=["variant", "tube_track_ids"])
    assert sorted(rows.column("variant").to_pylist()) == ["boxes", "id_tags"]
    assert len(rows.column("tube_track_ids")[0].as_py()) > 0
    # measured quality reaches the run summary and the data card
    assert "tracking:" in result.output and "oracle vIoU" in result.output
    stats = json.loads((tmp_path / "ds" / "meta" / "info.json").read_text())["stats"]
    assert stats["track_length_frames"]["tracks"] >= 1 and stats["track_length_frames"]["median"] >= 1
    assert stats["target_never_tracked_share"] in (0.0, 1.0) and "id_fragmentation" in stats
    assert "IDs per matched target" in (tmp_path / "ds" / "README.md").read_text()


def test_the_key_follows_the_video_bytes(short_clip: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.avi"
    data = bytearray(short_clip.read_bytes())
    copy.write_bytes(bytes(data))
    assert video_sha256(copy) == video_sha256(short_clip)
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    assert video_sha256(copy) != video_sha256(short_clip)


def test_tracks_with_masks_round_trip_through_parquet(tmp_path: Path) -> None:
    mask = np.zeros((8, 10), bool)
    mask[2:5, 3:7] = True
    tracks = Tracks(np.array([0, 2], np.int64), np.array([0.0, 0.2]), np.array([4, 4], np.int64),
                    np.array([[3, 2, 7, 5], [3, 2, 7, 5]], np.float32), np.array([0.9, 0.8], np.float32),
                    np.array([0, 0], np.int32), mask_rle=[rle_encode(mask), None])
    tracks.frame_indices_tracked = np.array([0, 1, 2], np.int64)
    back = table_to_tracks(tracks_to_table(tracks, {"key": "k"}))
    assert back.mask_rle == tracks.mask_rle and back.frame_indices_tracked.tolist() == [0, 1, 2]
    assert np.array_equal(back.xyxy, tracks.xyxy) and back.track_id.tolist() == [4, 4]
    cache = TracksCache(tmp_path)
    cache.put("sub/dir/v.mp4", "key-1", tracks, None, 0, 2)
    assert cache.get("sub/dir/v.mp4", "key-2", 0, 2) is None
    assert cache.get("sub/dir/v.mp4", "key-1", 0, 3) is None  # another segment of the same video
    assert cache.get("sub/dir/v.mp4", "key-1", 0, 2).mask_rle == tracks.mask_rle
    cache.path_for("sub/dir/v.mp4", 0, 2).write_bytes(b"torn file")
    assert cache.get("sub/dir/v.mp4", "key-1", 0, 2) is None  # unreadable: recomputed, never trusted
