"""Detect-then-track over a stream of frames, so memory stays flat with video length.

Frame trackers (`FrameTracker`) get one frame's detections at a time from the loop here; video
trackers (`VideoTracker`, SAM2) own the loop and ask for detections on the frames they need.
The frames come from the caller, so one decoding pass can feed tracking and rendering alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

import numpy as np
import supervision as sv

from vcprep.core.types import Frame, Tracks
from vcprep.decode.video import read_frames
from vcprep.track.builder import TrackBuilder
from vcprep.track.detectors import AnyDetector, Detector, detect_frame
from vcprep.track.trackers import AnyTracker, FrameTracker


def _batches(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _detections(frames: Iterable[Frame], detector: AnyDetector) -> Iterator[tuple[Frame, sv.Detections]]:
    """Each frame with its detections, in order; a `Detector` with `batch_size` > 1 sees that many
    frames per call (one GPU launch), and only that many frames are held at once."""
    if isinstance(detector, Detector) and detector.batch_size > 1:
        for batch in _batches(frames, detector.batch_size):
            yield from zip(batch, detector.detect_batch([f.image for f in batch]), strict=True)
        return
    for frame in frames:
        yield frame, detect_frame(detector, frame)


def track_frames(frames: Iterable[Frame], *, detector: AnyDetector, tracker: FrameTracker) -> Tracks:
    """Run a frame tracker over frames; unconfirmed detections (tracker_id -1) belong to no track.

    Detection may be batched (see `_detections`), but the tracker is still updated one frame at a
    time in frame order, so the tracks equal those of one-at-a-time detection.
    """
    tracker.reset()
    out = TrackBuilder()
    for frame, found in _detections(frames, detector):
        out.add_frame(frame)
        tracked = tracker.update(found, frame.image)
        if len(tracked) == 0 or tracked.tracker_id is None:
            continue
        ids = tracked.tracker_id
        keep = cast(sv.Detections, tracked[ids >= 0])  # a mask index returns Detections
        out.add(frame, ids[ids >= 0], keep.xyxy, keep.confidence, keep.class_id, keep.mask)
    return out.build()


def track_stream(frames: Iterable[Frame], *, detector: AnyDetector, tracker: AnyTracker) -> Tracks:
    """Raw tracks (tracker IDs) of the frames, whichever tracker interface is given."""
    if isinstance(tracker, FrameTracker):
        return track_frames(frames, detector=detector, tracker=tracker)
    return tracker.track(frames, lambda frame: detect_frame(detector, frame))


def track_video(path: str | Path, *, detector: AnyDetector, tracker: AnyTracker, frame_indices: np.ndarray,
                backend: str = "cv2") -> Tracks:
    """Raw tracks of `frame_indices` of one video file (a convenience over `track_stream`)."""
    return track_stream(read_frames(path, frame_indices, backend=backend), detector=detector, tracker=tracker)
