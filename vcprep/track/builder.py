"""Accumulate per-frame tracked boxes (and masks) into one `Tracks`, never holding frames.

Shared by the frame-tracker loop (`loop.py`) and the video trackers (SAM2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vcprep.core.masks import rle_encode
from vcprep.core.types import Frame, Tracks


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
            # rows in frame order, even where a frame's boxes were added late (`loop._backfill`)
            order = np.argsort(np.concatenate(self.cols["fi"]), kind="stable")
            cat = {k: np.concatenate(v)[order] for k, v in self.cols.items()}
            masks = [self.masks[i] for i in order] if self.any_mask else None
            out = Tracks(cat["fi"], cat["pts"], cat["tid"], cat["xyxy"], cat["score"], cat["cls"], mask_rle=masks)
        out.frame_indices_tracked = np.asarray(self.seen, np.int64)
        return out
