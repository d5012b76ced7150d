"""Detect-then-track over one video, streaming frames so memory stays flat with video length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from vcprep.decode import read_frames
from vcprep.detectors import Detector
from vcprep.trackers import Tracker
from vcprep.types import Tracks


def track_video(
    path: str | Path,
    *,
    detector: Detector,
    tracker: Tracker,
    frame_indices: np.ndarray,
    backend: str = "cv2",
    progress: bool = False,
) -> Tracks:
    """Run detector and tracker on `frame_indices` of the video; returns raw tracker IDs.

    Unconfirmed detections (tracker_id -1) are not kept: they belong to no track.
    """
    tracker.reset()
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("fi", "pts", "tid", "xyxy", "score", "cls")}
    seen: list[int] = []
    frames = read_frames(path, frame_indices, backend=backend)
    for frame in tqdm(frames, total=len(frame_indices), desc=f"track {Path(path).name}",
                      disable=not progress, leave=False):
        seen.append(frame.frame_index)
        dets = tracker.update(detector.detect(frame.image), frame.image)
        if len(dets) == 0 or dets.tracker_id is None:
            continue
        dets = dets[dets.tracker_id >= 0]
        n = len(dets)
        if n == 0:
            continue
        cols["fi"].append(np.full(n, frame.frame_index, np.int64))
        cols["pts"].append(np.full(n, frame.pts_seconds, np.float64))
        cols["tid"].append(dets.tracker_id.astype(np.int64))
        cols["xyxy"].append(dets.xyxy.astype(np.float32))
        conf = dets.confidence if dets.confidence is not None else np.ones(n)
        cols["score"].append(conf.astype(np.float32))
        cls = dets.class_id if dets.class_id is not None else np.zeros(n)
        cols["cls"].append(cls.astype(np.int32))
    if not cols["fi"]:
        out = Tracks.empty()
    else:
        cat = {k: np.concatenate(v) for k, v in cols.items()}
        out = Tracks(cat["fi"], cat["pts"], cat["tid"], cat["xyxy"], cat["score"], cat["cls"])
    out.frame_indices_tracked = np.asarray(seen, np.int64)
    return out
