"""Detect-then-track over one video, streaming frames so memory stays flat with video length.

Two kinds of tracker: frame trackers (`update(detections)` per frame: ByteTrack, BoT-SORT,
OC-SORT, SORT) and video trackers that own the loop (`track_frames(frames, detect)`: SAM2,
which only needs detections on its re-detection frames).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from vcprep.decode import read_frames
from vcprep.detectors import Detector, detect_frame
from vcprep.masks import rle_encode
from vcprep.trackers import Tracker
from vcprep.types import Frame, Tracks


class TrackBuilder:
    """Accumulates per-frame tracked boxes (and masks) into one `Tracks` without holding frames."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {k: [] for k in ("fi", "pts", "tid", "xyxy", "score", "cls")}
        self.masks: list[str | None] = []
        self.any_mask = False
        self.seen: list[int] = []

    def add_frame(self, frame: Frame) -> None:
        self.seen.append(frame.frame_index)

    def add(self, frame: Frame, track_ids: np.ndarray, xyxy: np.ndarray, score: np.ndarray | None,
            class_id: np.ndarray | None, masks: Any = None) -> None:
        n = len(track_ids)
        if n == 0:
            return
        self.cols["fi"].append(np.full(n, frame.frame_index, np.int64))
        self.cols["pts"].append(np.full(n, frame.pts_seconds, np.float64))
        self.cols["tid"].append(np.asarray(track_ids, np.int64))
        self.cols["xyxy"].append(np.asarray(xyxy, np.float32).reshape(n, 4))
        self.cols["score"].append((np.ones(n) if score is None else np.asarray(score)).astype(np.float32))
        self.cols["cls"].append((np.zeros(n) if class_id is None else np.asarray(class_id)).astype(np.int32))
        if masks is None:
            self.masks.extend([None] * n)
        else:
            self.any_mask = True
            self.masks.extend(m if isinstance(m, str) else rle_encode(m) for m in masks)

    def build(self) -> Tracks:
        if not self.cols["fi"]:
            out = Tracks.empty()
        else:
            cat = {k: np.concatenate(v) for k, v in self.cols.items()}
            out = Tracks(cat["fi"], cat["pts"], cat["tid"], cat["xyxy"], cat["score"], cat["cls"],
                         mask_rle=self.masks if self.any_mask else None)
        out.frame_indices_tracked = np.asarray(self.seen, np.int64)
        return out


def track_frames(frames: Iterable[Frame], *, detector: Detector, tracker: Tracker) -> Tracks:
    """Run a frame tracker over frames; unconfirmed detections (tracker_id -1) belong to no track."""
    tracker.reset()
    out = TrackBuilder()
    for frame in frames:
        out.add_frame(frame)
        dets = tracker.update(detect_frame(detector, frame.image, frame.frame_index), frame.image)
        if len(dets) == 0 or dets.tracker_id is None:
            continue
        dets = dets[dets.tracker_id >= 0]
        out.add(frame, dets.tracker_id, dets.xyxy, dets.confidence, dets.class_id, dets.mask)
    return out.build()


def track_video(
    path: str | Path,
    *,
    detector: Detector,
    tracker: Tracker,
    frame_indices: np.ndarray,
    backend: str = "cv2",
    progress: bool = False,
) -> Tracks:
    """Run detector and tracker on `frame_indices` of the video; returns raw tracker IDs."""
    frames = tqdm(read_frames(path, frame_indices, backend=backend), total=len(frame_indices),
                  desc=f"track {Path(path).name}", disable=not progress, leave=False)
    video_loop = getattr(tracker, "track_frames", None)
    if video_loop is not None:
        return video_loop(frames, lambda fr: detect_frame(detector, fr.image, fr.frame_index))
    return track_frames(frames, detector=detector, tracker=tracker)
