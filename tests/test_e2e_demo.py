"""The real path on vtest.avi, from decoding to shards that pyarrow and datasets read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from vcprep.core.geometry import box_iou_matrix
from vcprep.decode.video import probe, read_frames, sample_frame_indices
from vcprep.track.detectors import build_detector
from vcprep.track.loop import track_video
from vcprep.track.postprocess import compact_ids, drop_short_tracks
from vcprep.track.trackers import build_tracker

ROOT = Path(__file__).resolve().parents[1]
ANN = json.loads((ROOT / "pipelines/annotations/vtest_demo.jsonl").read_text().splitlines()[0])
GT = {int(k): v for k, v in ANN["boxes"].items()}


def _rows(ds: Path) -> dict[str, dict]:
    table = pq.read_table(next((ds / "data").glob("*.parquet")))
    return {r["variant"]: r for r in table.to_pylist()}


def _decode(b: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(float)


def test_frame_times_follow_the_sampling_rate(vtest_path: Path) -> None:
    info = probe(vtest_path)
    assert (info.fps, info.frame_count, info.width, info.height) == (10.0, 795, 768, 576)
    idx = sample_frame_indices(info=info, fps=2.0, start_seconds=3.0, end_seconds=6.0)
    assert idx.tolist() == [30, 35, 40, 45, 50, 55]
    thinned = sample_frame_indices(info=info, fps=2.0, max_frames=4)
    assert len(thinned) == 4 and thinned[0] == 0 and thinned[-1] == 790
    frames = list(read_frames(vtest_path, idx))
    assert [f.frame_index for f in frames] == idx.tolist()
    assert [f.pts_seconds for f in frames] == pytest.approx([3.0, 3.5, 4.0, 4.5, 5.0, 5.5])
    # PyAV reads container timestamps; they agree with index / fps on this file, pixel for pixel
    exact = list(read_frames(vtest_path, idx[:2], backend="av"))
    assert [f.pts_seconds for f in exact] == pytest.approx([3.0, 3.5], abs=1e-3)
    assert np.abs(exact[0].image.astype(int) - frames[0].image.astype(int)).mean() < 2.0


def test_hog_finds_the_annotated_person(vtest_path: Path) -> None:
    detector = build_detector("hog")
    frames = {f.frame_index: f.image for f in read_frames(vtest_path, [58, 76])}
    for f, image in frames.items():
        dets = detector.detect(image)
        assert 1 <= len(dets) <= 12 and np.all(dets.class_id == 0)
        assert np.all((dets.confidence > 0) & (dets.confidence < 1))
        # HOG windows are loose: the tight hand-drawn box lies inside one of them
        gt = np.array(GT[f], float)
        inside = (dets.xyxy[:, 0] <= gt[0] + 8) & (dets.xyxy[:, 1] <= gt[1] + 8) & \
                 (dets.xyxy[:, 2] >= gt[2] - 8) & (dets.xyxy[:, 3] >= gt[3] - 8)
        assert inside.any(), f"no HOG box contains the annotated person on frame {f}"


def test_a_person_walking_alone_keeps_one_id(vtest_path: Path) -> None:
    idx = np.arange(46, 108, 2)
    raw = track_video(vtest_path, detector=build_detector("hog"), frame_indices=idx,
                      tracker=build_tracker("bytetrack", {"frame_rate": 5.0, "track_activation_threshold": 0.5,
                                                          "high_conf_det_threshold": 0.5, "lost_track_buffer": 10}))
    tracks, _ = compact_ids(drop_short_tracks(raw, 3))
    assert set(tracks.frame_indices_tracked.tolist()) == set(idx.tolist())
    ids_on_person = []
    for f, box in GT.items():
        here = tracks.at_frame(f)
        if len(here):
            iou = box_iou_matrix(np.array([box]), here.xyxy)[0]
            if iou.max() > 0.2:
                ids_on_person.append(int(here.track_id[iou.argmax()]))
    assert len(ids_on_person) >= 8, ids_on_person
    assert len(set(ids_on_person)) == 1, f"the walker changed ID: {ids_on_person}"
    assert tracks.track_id.min() == 1 and set(tracks.ids()) == set(range(1, tracks.ids().size + 1))


def test_target_matched_and_every_variant_drawn(demo_dataset: Path) -> None:
    rows = _rows(demo_dataset)
    assert set(rows) == {"raw", "id_tags", "boxes", "spotlight", "temporal_crop"}
    raw = rows["raw"]
    target = raw["target_id"]
    assert target is not None
    assert raw["answer"] == f"Target ID: {target}, Time range: 4.60 to 10.60"
    # the matched track is the walker: its tube boxes overlap the ground truth on annotated frames
    tube_f, tube_id = np.array(raw["tube_frame_indices"]), np.array(raw["tube_track_ids"])
    tube_b = np.array(raw["tube_boxes"])
    hits = 0
    for f, gt in zip(raw["gt_frame_indices"], raw["gt_boxes"]):
        sel = (tube_f == f) & (tube_id == target)
        if sel.any():
            hits += box_iou_matrix(np.array([gt]), tube_b[sel])[0].max() > 0.2
    assert hits >= 5
    # stored-frame coordinates: 768x576 scaled to 640x480
    assert (raw["frame_width"], raw["frame_height"]) == (640, 480)
    assert raw["gt_boxes"][0] == pytest.approx([701 * 640 / 768, 268 * 480 / 576, 744 * 640 / 768, 388 * 480 / 576])

    k = raw["frame_indices"].index(70)  # a frame where the walker is tracked
    plain = _decode(raw["frames"][k]["bytes"])
    ids = raw["frame_track_ids"][k]
    assert target in ids
    box = np.array(raw["frame_track_boxes"][k][ids.index(target)])

    # spotlight: outside the padded target box at 0.3 of the source brightness, inside unchanged
    spot = _decode(rows["spotlight"]["frames"][k]["bytes"])
    mask = np.zeros(plain.shape[:2], bool)
    x1, y1, x2, y2 = box.astype(int)
    mask[max(0, y1 - 12): y2 + 12, max(0, x1 - 12): x2 + 12] = True
    ratio = spot[~mask].mean() / plain[~mask].mean()
    assert ratio == pytest.approx(0.3, abs=0.03)
    inner = np.zeros_like(mask)
    inner[y1 + 2: y2 - 2, x1 + 2: x2 - 2] = True
    assert np.abs(spot[inner] - plain[inner]).mean() < 3.0

    # id_tags: strong red pixels appear near the target's box centre and not in the raw frame
    tags = _decode(rows["id_tags"]["frames"][k]["bytes"])
    red = lambda im: (im[..., 0] > 170) & (im[..., 1] < 90) & (im[..., 2] < 90)  # noqa: E731
    cx, cy = int((x1 + x2) / 2), int((y1 + y2) / 2)
    win = (slice(max(0, cy - 30), cy + 30), slice(max(0, cx - 30), cx + 30))
    assert red(tags)[win].sum() > 20 and red(plain)[win].sum() < 5

    # boxes: the outline differs from the raw frame along the box edge, the interior does not
    boxed = _decode(rows["boxes"]["frames"][k]["bytes"])
    edge = np.abs(boxed[y1 + 1: y2 - 1, x1] - plain[y1 + 1: y2 - 1, x1]).mean()
    outlines = np.zeros(plain.shape[:2], np.uint8)
    for b in raw["frame_track_boxes"][k]:
        bx1, by1, bx2, by2 = (int(round(v)) for v in b)
        cv2.rectangle(outlines, (bx1, by1), (bx2 - 1, by2 - 1), 1, 9)
    assert edge > 25 and np.abs(boxed - plain)[outlines == 0].mean() < 2.0

    # temporal crop: only frames within the span plus the 1 s margin, times of the source video
    crop = rows["temporal_crop"]
    assert min(crop["pts_seconds"]) >= 3.6 - 1e-6 and max(crop["pts_seconds"]) <= 11.6 + 1e-6
    assert len(crop["frames"]) == len(crop["pts_seconds"]) >= 10
    assert crop["hint"] and rows["spotlight"]["hint"] and raw["hint"] == ""


def test_shards_load_with_pyarrow_and_datasets(demo_dataset: Path) -> None:
    import datasets

    info = json.loads((demo_dataset / "meta/info.json").read_text())
    assert info["format_version"].startswith("1.") and info["num_rows"] == 5
    ds = datasets.load_dataset("parquet", data_files=str(demo_dataset / "data/*.parquet"), split="train")
    assert len(ds) == 5
    first = ds[0]["frames"][0]
    assert first.size == (640, 480)  # a PIL image, decoded by the Image feature
    card = (demo_dataset / "README.md").read_text()
    assert card.startswith("---\n") and "data/*.parquet" in card and "task_categories" in card


def test_preview_contact_sheet(demo_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    res = subprocess.run([sys.executable, "-m", "vcprep.cli", "preview", str(demo_dataset), "--out", str(out),
                          "--frames", "4"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    sheet = cv2.imread(str(out))
    assert sheet.shape[1] == 4 * 320 and sheet.shape[0] >= 5 * 200  # 5 variants x 4 frames


def test_missing_video_is_a_clear_error(tmp_path: Path, media_dir: Path) -> None:
    ann = tmp_path / "a.jsonl"
    ann.write_text(json.dumps({"id": "x1", "video": "no_such_video.mp4", "question": "who?"}) + "\n")
    recipe = tmp_path / "p.yaml"
    recipe.write_text(f"name: t\nsource: {{name: jsonl, annotations: {ann}, data_root: {media_dir}}}\n")
    res = subprocess.run([sys.executable, "-m", "vcprep.cli", "render", str(recipe), "--out", str(tmp_path / "o"),
                          "-q"], capture_output=True, text=True)
    assert res.returncode == 1
    assert "no_such_video.mp4" in res.stdout and "not found" in res.stdout
    err = json.loads((tmp_path / "o/meta/errors.jsonl").read_text().splitlines()[0])
    assert err["sample_id"] == "x1" and "not found" in err["reason"]
    res = subprocess.run([sys.executable, "-m", "vcprep.cli", "render", str(tmp_path / "nope.yaml"), "--out",
                          str(tmp_path / "o2")], capture_output=True, text=True)
    assert res.returncode == 2 and "pipeline file not found" in res.stderr
