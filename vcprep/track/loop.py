"""Detect-then-track over a stream of frames, so memory stays flat with video length.

Frame trackers (`FrameTracker`) get one frame's detections at a time from the loop here; video
trackers (`VideoTracker`, SAM2) own the loop and ask for detections on the frames they need.
The frames come from the caller, so one decoding pass can feed tracking and rendering alike.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import supervision as sv

from vcprep.core.geometry import box_iou_matrix
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


@dataclass
class _Unconfirmed:
    """One frame's detections the tracker returned without an ID (tracker_id -1)."""

    frame: Frame
    found: sv.Detections
    used: np.ndarray  # [N] bool: already given to a track by `_backfill`


def _backfill(out: TrackBuilder, recent: deque[_Unconfirmed], track_id: int, xyxy: np.ndarray,
              min_iou: float) -> None:
    """Give a newly confirmed track the detections it was born from on the frames before.

    Frame trackers confirm a track one or more frames after its first detection (Roboflow's ByteTrack
    always returns a new track's first detection with ID -1), so without this every track starts late
    and every first tracked frame of a clip has no boxes at all. Walks back frame by frame through the
    unconfirmed detections, each step taking the one that overlaps the track's box best.
    """
    box = xyxy
    for prev in reversed(recent):
        if len(prev.found) == 0:
            return
        iou = box_iou_matrix(box[None], prev.found.xyxy)[0]
        iou[prev.used] = -1.0
        best = int(np.argmax(iou))
        if iou[best] < min_iou:
            return
        prev.used[best] = True
        det = cast(sv.Detections, prev.found[best:best + 1])
        out.add(prev.frame, np.array([track_id]), det.xyxy, det.confidence, det.class_id, det.mask)
        box = det.xyxy[0]


def track_frames(frames: Iterable[Frame], *, detector: AnyDetector, tracker: FrameTracker,
                 backfill_frames: int = 2, backfill_min_iou: float = 0.3) -> Tracks:
    """Run a frame tracker over frames; unconfirmed detections (tracker_id -1) belong to no track,
    except those a track was born from on the `backfill_frames` frames before its confirmation
    (see `_backfill`; 0 turns this off).

    Detection may be batched (see `_detections`), but the tracker is still updated one frame at a
    time in frame order, so the tracks equal those of one-at-a-time detection.
    """
    tracker.reset()
    out = TrackBuilder()
    recent: deque[_Unconfirmed] = deque(maxlen=max(backfill_frames, 1))
    seen_ids: set[int] = set()
    for frame, found in _detections(frames, detector):
        out.add_frame(frame)
        tracked = tracker.update(found, frame.image)
        if tracked.tracker_id is None:
            tracked.tracker_id = np.full(len(tracked), -1, dtype=int)
        ids = tracked.tracker_id
        keep = cast(sv.Detections, tracked[ids >= 0])  # a mask index returns Detections
        if backfill_frames > 0:
            for k, tid in enumerate(keep.tracker_id if keep.tracker_id is not None else []):
                if int(tid) not in seen_ids:
                    _backfill(out, recent, int(tid), keep.xyxy[k], backfill_min_iou)
            seen_ids.update(int(t) for t in ids[ids >= 0])
            missed = cast(sv.Detections, tracked[ids < 0])
            recent.append(_Unconfirmed(frame, missed, np.zeros(len(missed), dtype=bool)))
        if len(keep):
            out.add(frame, ids[ids >= 0], keep.xyxy, keep.confidence, keep.class_id, keep.mask)
    return out.build()


def track_stream(frames: Iterable[Frame], *, detector: AnyDetector, tracker: AnyTracker,
                 backfill_frames: int = 2) -> Tracks:
    """Raw tracks (tracker IDs) of the frames, whichever tracker interface is given."""
    if isinstance(tracker, FrameTracker):
        return track_frames(frames, detector=detector, tracker=tracker, backfill_frames=backfill_frames)
    return tracker.track(frames, lambda frame: detect_frame(detector, frame))


def track_video(path: str | Path, *, detector: AnyDetector, tracker: AnyTracker, frame_indices: np.ndarray,
                backend: str = "cv2") -> Tracks:
    """Raw tracks of `frame_indices` of one video file (a convenience over `track_stream`)."""
    return track_stream(read_frames(path, frame_indices, backend=backend), detector=detector, tracker=tracker)
