"""Batched YOLO detection in the tracking loop gives the same tracks as one frame at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vcprep.decode.video import read_frames
from vcprep.track.detectors import build_detector
from vcprep.track.loop import track_frames
from vcprep.track.trackers import build_tracker


def test_yolo_batched_tracking_equals_one_frame_at_a_time(vtest_path: Path) -> None:
    pytest.importorskip("ultralytics")
    import torch

    torch.manual_seed(0)  # random weights from the config; one model serves both runs
    detector = build_detector("yolo", {"weights": "yolo11n.yaml", "confidence": 1e-4, "image_size": 160,
                                       "device": "cpu", "batch_size": 4})
    frames = list(read_frames(vtest_path, np.arange(0, 40, 4)))  # 10 frames: batches of 4, 4, 2
    images = [f.image for f in frames]
    batched = detector.detect_batch(images)
    single = [detector.detect(image) for image in images]
    assert sum(len(d) for d in single) > 0, "random YOLO found nothing: the comparison would be empty"
    for b, s in zip(batched, single, strict=True):
        assert np.allclose(b.xyxy, s.xyxy, atol=1e-3) and np.array_equal(b.class_id, s.class_id)

    with pytest.raises(ValueError, match="batch_size"):
        build_detector("yolo", {"weights": "yolo11n.yaml", "batch_size": 0})


@pytest.mark.slow  # two tracking runs compared
def test_batched_detection_in_the_loop_gives_the_same_tracks(vtest_path: Path) -> None:
    """The loop's batching path (frames held per batch, tracker fed in order) with a real detector
    that finds the walkers (HOG; random YOLO boxes do not persist long enough to become tracks)."""
    frames = list(read_frames(vtest_path, np.arange(0, 60, 3)))
    detector = build_detector("hog", {"scale": 1.05, "min_confidence": 0.3})
    params = {"frame_rate": 3.3, "minimum_consecutive_frames": 2}
    one_by_one = track_frames(frames, detector=detector, tracker=build_tracker("bytetrack", params))
    detector.batch_size = 4  # 20 frames: batches of 4
    with_batches = track_frames(frames, detector=detector, tracker=build_tracker("bytetrack", params))
    assert len(one_by_one) > 10
    assert np.array_equal(with_batches.frame_index, one_by_one.frame_index)
    assert np.array_equal(with_batches.track_id, one_by_one.track_id)
    assert np.array_equal(with_batches.xyxy, one_by_one.xyxy)
