"""Detectors (HOG, YOLO from its config, ground truth) and trackers run for real on vtest.avi."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import supervision as sv

from vcprep.core.geometry import box_iou_matrix
from vcprep.core.masks import mask_box, rle_decode, rle_encode
from vcprep.core.types import Tracks
from vcprep.decode.video import probe, read_frames
from vcprep.track.detectors import build_detector
from vcprep.track.detectors.base import FrameIndexedDetector
from vcprep.track.loop import track_frames, track_video
from vcprep.track.postprocess import compact_ids, drop_short_tracks, drop_small_masks, join_fragments
from vcprep.track.trackers import build_tracker

ROOT = Path(__file__).resolve().parents[1]
ANN = json.loads((ROOT / "pipelines/annotations/vtest_demo.jsonl").read_text().splitlines()[0])
GT = {int(k): v for k, v in ANN["boxes"].items()}
WALK = np.arange(46, 108, 2)  # the annotated walker, tracked at 5 fps


class _Replay(FrameIndexedDetector):
    """Real HOG detections computed once per module, handed out by frame (the trackers are under test)."""

    def __init__(self, by_frame: dict[int, sv.Detections]) -> None:
        self.by_frame = by_frame

    def detect_at(self, image: np.ndarray, frame_index: int) -> sv.Detections:
        return self.by_frame[frame_index]


@pytest.fixture(scope="module")
def walk_frames(vtest_path: Path) -> list:
    return list(read_frames(vtest_path, WALK))


@pytest.fixture(scope="module")
def hog_detections(walk_frames: list) -> dict[int, sv.Detections]:
    hog = build_detector("hog")
    return {f.frame_index: hog.detect(f.image) for f in walk_frames}


def _ids_on_walker(tracks: Tracks) -> list[int]:
    out = []
    for f, box in GT.items():
        here = tracks.at_frame(f)
        if len(here):
            iou = box_iou_matrix(np.array([box]), here.xyxy)[0]
            if iou.max() > 0.2:
                out.append(int(here.track_id[iou.argmax()]))
    return out


@pytest.mark.parametrize("name,params", [
    ("bytetrack", {"frame_rate": 5.0, "track_activation_threshold": 0.5, "lost_track_buffer": 10}),
    ("botsort", {"frame_rate": 5.0, "track_activation_threshold": 0.5, "lost_track_buffer": 10}),
    ("ocsort", {"frame_rate": 5.0, "lost_track_buffer": 10}),
    ("sort", {"frame_rate": 5.0, "lost_track_buffer": 10}),
])
def test_each_tracker_keeps_the_walker_on_one_id(name: str, params: dict, walk_frames: list,
                                                 hog_detections: dict) -> None:
    raw = track_frames(walk_frames, detector=_Replay(hog_detections), tracker=build_tracker(name, params))
    tracks, _ = compact_ids(drop_short_tracks(raw, 3))
    assert tracks.frame_indices_tracked.tolist() == WALK.tolist()
    ids = _ids_on_walker(tracks)
    assert len(ids) >= 7, (name, ids)
    top = max(set(ids), key=ids.count)
    assert ids.count(top) >= len(ids) - 2, (name, ids)  # at most two annotated frames on another ID


def test_tracker_parameters_are_passed_through() -> None:
    with pytest.raises(ValueError, match="bytetrack"):
        build_tracker("bytetrack", {"no_such_parameter": 1})
    with pytest.raises(KeyError, match="sam2"):
        build_tracker("nope")


def test_gt_detector_tracks_the_annotated_boxes(vtest_path: Path) -> None:
    """`gt` boxes + ByteTrack: the target's tube is the annotation itself, so its oracle vIoU is high."""
    from vcprep.track.quality import oracle_for_sample

    frames = np.arange(40, 112, 2)
    detector = build_detector("gt", {"boxes_by_frame": {str(k): [v] for k, v in GT.items()}, "tolerance_frames": 2,
                                     "interpolate_max_gap": 6})
    raw = track_video(vtest_path, detector=detector, frame_indices=frames,
                      tracker=build_tracker("bytetrack", {"frame_rate": 5.0, "minimum_consecutive_frames": 1}))
    tracks, _ = compact_ids(raw)
    assert tracks.ids().tolist() == [1]
    oracle = oracle_for_sample(tracks, {k: tuple(v) for k, v in GT.items()}, tolerance_frames=3)
    assert oracle.track_id == 1 and oracle.tiou > 0.9 and oracle.viou > 0.6, oracle
    # the gt detector declares only the frame-indexed interface: nothing can call it without the index
    assert isinstance(detector, FrameIndexedDetector) and not hasattr(detector, "detect")


@pytest.mark.slow  # ultralytics imported, a YOLO built, saved and loaded
def test_yolo_from_a_saved_checkpoint_filters_classes(tmp_path: Path, vtest_path: Path) -> None:
    """YOLO built from its config (random weights), saved, and loaded through the checkpoint path."""
    import torch
    from ultralytics import YOLO

    torch.manual_seed(0)  # random init (see the segmentation test below for why)
    weights = tmp_path / "yolo11n-random.pt"
    YOLO("yolo11n.yaml").save(str(weights))
    image = next(iter(read_frames(vtest_path, [60]))).image
    common = {"weights": str(weights), "confidence": 1e-4, "image_size": 160, "device": "cpu"}
    every = build_detector("yolo", {**common, "classes": "all"}).detect(image)
    person = build_detector("yolo", {**common, "classes": "person"})
    others = build_detector("yolo", {**common, "classes": "non-person"})
    assert person.names[0] == "person" and person.class_ids == [0] and 0 not in others.class_ids
    assert len(every) > 0
    found = person.detect(image)
    # ultralytics' NMS is per class, so the person-only run is exactly the person part of the full run
    assert np.allclose(np.sort(found.xyxy, 0), np.sort(every.xyxy[every.class_id == 0], 0), atol=1e-3)
    assert np.all(others.detect(image).class_id != 0)
    height, width = image.shape[:2]
    assert np.all(every.xyxy >= -1) and np.all(every.xyxy[:, [2, 3]] <= [width + 1, height + 1])
    assert build_detector("yolo", {**common, "classes": ["car", 2, "bus"]}).class_ids == [2, 2, 5]
    with pytest.raises(ValueError, match="unknown class"):
        build_detector("yolo", {**common, "classes": ["unicorn"]})
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        build_detector("yolo", {"weights": str(tmp_path / "missing.pt")})


def test_yolo_segmentation_masks_reach_the_tracks_as_rle(vtest_path: Path) -> None:
    # random weights: YOLO's class-bias init puts scores near 1e-4, so the threshold sits far below that and
    # the init is seeded (unseeded, a fresh process could fall just under the threshold and detect nothing)
    import torch

    torch.manual_seed(0)
    seg = build_detector("yolo", {"weights": "yolo11n-seg.yaml", "confidence": 1e-7, "image_size": 160,
                                  "device": "cpu"})
    info = probe(vtest_path)
    raw = track_video(vtest_path, detector=seg, frame_indices=np.arange(0, 6, 2),
                      tracker=build_tracker("bytetrack", {"track_activation_threshold": 0.0,
                                                          "high_conf_det_threshold": 0.0,
                                                          "minimum_consecutive_frames": 1}))
    assert len(raw) > 0 and raw.mask_rle is not None
    mask = rle_decode(raw.mask_rle[0])
    assert mask.shape == (info.height, info.width)


def test_mask_rle_round_trips_and_matches_coco() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        h, w = rng.integers(1, 30, 2)
        m = rng.random((h, w)) < rng.random()
        assert np.array_equal(rle_decode(rle_encode(m)), m)
    m = np.zeros((5, 4), bool)
    m[1:3, 1:3] = True
    assert rle_encode(m) == "5x4:62304"  # pycocotools.mask.encode gives counts b"62304" for this mask
    assert mask_box(m).tolist() == [1, 1, 3, 3]


def _tracks(rows: list[tuple[int, int, list[float]]], masks: list[np.ndarray] | None = None) -> Tracks:
    n = len(rows)
    t = Tracks(np.array([r[0] for r in rows], np.int64), np.array([r[0] / 10 for r in rows]),
               np.array([r[1] for r in rows], np.int64), np.array([r[2] for r in rows], np.float32),
               np.ones(n, np.float32), np.zeros(n, np.int32),
               mask_rle=None if masks is None else [rle_encode(m) for m in masks])
    t.frame_indices_tracked = np.unique(t.frame_index)
    return t


def test_fragments_of_one_object_are_joined_but_coexisting_tracks_are_not() -> None:
    box = [100.0, 100.0, 140.0, 200.0]
    moved = [104.0, 100.0, 144.0, 200.0]
    far = [400.0, 100.0, 440.0, 200.0]
    rows = [(f, 7, box) for f in range(0, 10, 2)]          # fragment A
    rows += [(f, 9, moved) for f in range(14, 20, 2)]       # A again after a 4-frame gap
    rows += [(f, 3, far) for f in range(0, 20, 2)]          # someone else throughout
    rows += [(f, 5, moved) for f in range(40, 44, 2)]       # too late to be A
    joined, mapping = join_fragments(_tracks(rows), max_gap_frames=6, min_iou=0.5)
    assert mapping == {9: 7}
    assert sorted(joined.ids().tolist()) == [3, 5, 7]
    untouched, none = join_fragments(_tracks(rows), max_gap_frames=3, min_iou=0.5)
    assert none == {} and sorted(untouched.ids().tolist()) == [3, 5, 7, 9]


def test_small_masks_are_dropped_for_rendering_only() -> None:
    big, mid, small = (np.zeros((60, 60), bool) for _ in range(3))
    big[0:30, 0:30] = True     # 900 px
    mid[40:60, 40:58] = True   # 360 px: 0.4 of the largest, kept
    small[40:50, 0:20] = True  # 200 px: 0.22 of the largest, dropped
    t = _tracks([(0, 1, [0, 0, 30, 30]), (0, 2, [40, 40, 58, 60]), (0, 3, [0, 40, 20, 50]),
                 (2, 3, [0, 40, 20, 50])], [big, mid, small, small])
    drawn = drop_small_masks(t, 1 / 3)
    assert drawn.at_frame(0).track_id.tolist() == [1, 2]
    assert drawn.at_frame(2).track_id.tolist() == [3]  # alone on its frame, so the largest
    boxes_only = _tracks([(0, 1, [0, 0, 30, 30]), (0, 3, [0, 40, 20, 50])])
    assert len(drop_small_masks(boxes_only, 1 / 3)) == 2
    assert drop_small_masks(boxes_only, 1 / 3, boxes_too=True).track_id.tolist() == [1]


def test_hog_detections_come_in_one_order_whatever_the_threads(vtest_path: Path) -> None:
    """OpenCV's parallel HOG search returns its windows in a thread-timing order; trackers assign IDs in
    detection order, so the detector must return a canonical order (else a resumed or distributed run differs)."""
    import cv2

    frames = [f.image for f in read_frames(vtest_path, np.arange(0, 120, 20))]
    hog = build_detector("hog")
    threads = cv2.getNumThreads()
    try:
        runs = []
        for n in (1, 2, 2, 4):
            cv2.setNumThreads(n)
            runs.append([hog.detect(image) for image in frames])
    finally:
        cv2.setNumThreads(threads)
    assert sum(len(d) for d in runs[0]) > 0
    for run in runs[1:]:
        for a, b in zip(runs[0], run):
            assert np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.confidence, b.confidence)
