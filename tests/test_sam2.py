"""The SAM2 tracker — STVG-R1's rules on constructed masks, and the real model (random
weights from its config, saved and loaded as a checkpoint) propagating over vtest.avi in segments."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vcprep.core.masks import mask_box, rle_decode
from vcprep.track.detectors import build_detector
from vcprep.track.loop import track_video
from vcprep.track.trackers import build_tracker
from vcprep.track.trackers.sam2 import drop_contained, select_new_objects

ROOT = Path(__file__).resolve().parents[1]
ANN = json.loads((ROOT / "pipelines/annotations/vtest_demo.jsonl").read_text().splitlines()[0])


def _rect(y0: int, y1: int, x0: int, x1: int, size: int = 100) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_new_object_only_below_iou_0_4_with_every_tracked_mask() -> None:
    tracked = np.stack([_rect(0, 10, 0, 100)])  # 1000 px
    just_new = _rect(0, 10, 0, 39)     # IoU 390 / 1000 = 0.39: a new object
    at_040 = _rect(0, 10, 0, 40)       # IoU 0.40: not below 0.4, the tracked object again
    elsewhere = _rect(50, 60, 0, 100)  # no overlap: new
    cands = np.stack([just_new, at_040, elsewhere])
    assert select_new_objects(tracked, cands, np.array([0.9, 0.8, 0.7])) == [0, 2]
    # two detections of one new object: the better-scored one wins, the other is a duplicate
    dup = np.stack([_rect(50, 60, 0, 100), _rect(50, 60, 0, 90)])
    assert select_new_objects(np.zeros((0, 100, 100), bool), dup, np.array([0.5, 0.9])) == [1]
    # empty masks never become objects
    assert select_new_objects(tracked, np.zeros((1, 100, 100), bool), np.array([1.0])) == []


def test_the_smaller_of_two_mutually_containing_masks_is_dropped_at_0_6() -> None:
    big = _rect(0, 50, 0, 50)        # 2500 px
    at_060 = _rect(38, 58, 0, 20)    # 240 of its 400 px inside big: 0.60 -> the smaller is dropped
    at_055 = _rect(39, 59, 0, 20)    # 220 of 400 px: 0.55 -> both kept
    assert drop_contained(np.stack([at_060, big])).tolist() == [False, True]
    assert drop_contained(np.stack([at_055, big])).tolist() == [True, True]
    # a chain keeps only the largest; of two equal masks the first (older) one stays
    chain = np.stack([_rect(0, 10, 0, 10), _rect(0, 30, 0, 30), _rect(0, 20, 0, 20)])
    assert drop_contained(chain).tolist() == [False, True, False]
    assert drop_contained(np.stack([big, big])).tolist() == [True, False]


def test_containment_threshold_is_a_parameter() -> None:
    outer = _rect(0, 50, 0, 50)
    half_in = _rect(40, 60, 0, 20)  # 400 px, 200 inside: 0.5
    assert drop_contained(np.stack([outer, half_in])).tolist() == [True, True]
    assert drop_contained(np.stack([outer, half_in]), min_containment=0.5).tolist() == [True, False]


@pytest.fixture(scope="module")
def sam2_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SAM2.1-tiny built from its config with random weights, saved the way SAM2 checkpoints are."""
    import torch
    from sam2.build_sam import build_sam2

    torch.manual_seed(0)
    model = build_sam2("configs/sam2.1/sam2.1_hiera_t.yaml", ckpt_path=None, device="cpu")
    path = tmp_path_factory.mktemp("sam2") / "sam2.1_hiera_tiny_random.pt"
    torch.save({"model": model.state_dict()}, path)
    return path


@pytest.mark.slow  # SAM2 on CPU, about 1 s a frame
def test_sam2_propagates_masks_in_segments_from_a_checkpoint(sam2_checkpoint: Path, vtest_path: Path) -> None:
    frames = np.arange(46, 60, 2)  # 7 tracked frames; re-detection every 3 -> segments [0..3], [3..6]
    gt = {int(k): [v] for k, v in ANN["boxes"].items()}
    detector = build_detector("gt", {"boxes_by_frame": gt, "tolerance_frames": 3})
    tracker = build_tracker("sam2", {"checkpoint": str(sam2_checkpoint), "device": "cpu", "image_size": 256,
                                     "redetect_every": 3, "min_mask_pixels": 1})
    tracks = track_video(vtest_path, detector=detector, tracker=tracker, frame_indices=frames)
    assert tracks.frame_indices_tracked.tolist() == frames.tolist()
    assert len(tracks) > 0 and tracks.mask_rle is not None and all(tracks.mask_rle)
    pairs = list(zip(tracks.frame_index.tolist(), tracks.track_id.tolist()))
    assert len(pairs) == len(set(pairs)), "a boundary frame was emitted by two segments"
    assert set(tracks.frame_index.tolist()) <= set(frames.tolist())
    for k in range(len(tracks)):
        mask = rle_decode(tracks.mask_rle[k])
        assert mask.shape == (576, 768)
        assert np.allclose(mask_box(mask), tracks.xyxy[k])  # boxes are the masks' tight boxes
    # the first object is the annotated person, admitted on frame 46 from its box
    assert tracks.track_id[tracks.frame_index == 46].tolist()[:1] == [1]
    # carried over: the object admitted in the first segment is still tracked in the second
    assert 1 in tracks.track_id[tracks.frame_index > 52].tolist()


def test_sam2_refuses_to_run_without_weights(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="checkpoint"):
        build_tracker("sam2", {"device": "cpu"})
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        build_tracker("sam2", {"checkpoint": str(tmp_path / "missing.pt"), "device": "cpu"})


@pytest.mark.slow  # YOLO + SAM2 through vcprep track
def test_the_stvg_r1_recipe_runs_yolo_and_sam2_through_vcprep_track(
    sam2_checkpoint: Path, vtest_path: Path, tmp_path: Path
) -> None:
    """pipelines/stvg_r1_sam2.yaml as shipped, with random-weight checkpoints at small sizes on 10 frames."""
    import cv2
    import pyarrow.parquet as pq
    import yaml
    from typer.testing import CliRunner
    from ultralytics import YOLO

    from vcprep.cli import app
    from vcprep.decode.video import read_frames

    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for frame in read_frames(vtest_path, np.arange(46, 56)):
        writer.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
    writer.release()
    (tmp_path / "ann.jsonl").write_text(json.dumps({"id": "c", "video": "clip.avi", "question": "who?"}) + "\n")
    YOLO("yolo11n-seg.yaml").save(str(tmp_path / "yolo.pt"))
    recipe = yaml.safe_load((ROOT / "pipelines" / "stvg_r1_sam2.yaml").read_text())
    recipe["source"].update(annotations="ann.jsonl", data_root=".")
    recipe["detector"]["params"].update(weights="yolo.pt", classes="all", confidence=1e-4, image_size=160,
                                        device="cpu")
    recipe["tracker"]["params"].update(config="configs/sam2.1/sam2.1_hiera_t.yaml", checkpoint=str(sam2_checkpoint),
                                       device="cpu", image_size=256, redetect_every=2)
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    result = CliRunner().invoke(app, ["track", str(tmp_path / "recipe.yaml"), "--out", str(tmp_path / "tracks"), "-q"])
    assert result.exit_code == 0, result.output
    assert "1 computed" in result.output
    table = pq.read_table(next((tmp_path / "tracks").glob("clip.avi.f*.parquet")))
    assert sorted(set(table.column("frame_index").to_pylist())) <= list(range(0, 10, 2))
    masks = table.column("mask_rle").to_pylist()
    assert masks and all(m and m.startswith("576x768:") for m in masks)
