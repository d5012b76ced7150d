"""OpenCV's pretrained HOG + linear SVM people detector (Dalal-Triggs), shipped inside opencv-python.

It needs no weights download and no torch, which makes it the default that works anywhere.
"""

from __future__ import annotations

import cv2
import numpy as np
import supervision as sv

from vcprep.track.detectors.base import Detector
from vcprep.track.priors import PersonPriors

PERSON_CLASS_ID = 0  # COCO's "person", so HOG and YOLO outputs share class ids


class HOGPersonDetector(Detector):
    class_names = ("person",)

    def __init__(
        self,
        *,
        scale: float = 1.05,
        win_stride: int = 8,
        padding: int = 8,
        min_confidence: float = 0.3,
        nms_iou: float = 0.5,
        resize: float = 1.0,
        margin_x_fraction: float = 0.25,
        margin_y_fraction: float = 0.125,
        priors: dict[str, float] | None = None,
    ) -> None:
        """
        Args:
            scale: pyramid step of detectMultiScale; smaller finds more sizes, runs slower.
            win_stride: window stride in pixels.
            padding: padding added around the image in pixels.
            min_confidence: drop detections under this confidence (see `confidence` below).
            nms_iou: non-maximum suppression threshold over the grouped windows.
            resize: run on a rescaled frame (0.5 is ~4x faster; 2.0 finds people under the 128 px
                window's ~96 px body, at about 4x the time); boxes come back in full pixels.
            margin_x_fraction: share of the window's width removed from each side. The detector was
                trained on 64x128 windows holding a ~32x96 person centred (Dalal and Triggs 2005;
                OpenCV's peopledetect sample shrinks by the same amounts), so the raw window is
                about 2x the person's width: 0.25 each side leaves the person. 0 keeps the window.
            margin_y_fraction: share of the window's height removed from top and bottom (16 of 128 px).
            priors: `PersonPriors` fields (max_height_fraction, min_height_px, min_aspect, max_aspect,
                min_bottom_fraction) applied to the tightened boxes; None keeps every box.
        """
        self.scale = scale
        self.win_stride = (win_stride, win_stride)
        self.padding = (padding, padding)
        self.min_confidence = min_confidence
        self.nms_iou = nms_iou
        self.resize = resize
        self.margin_x_fraction = margin_x_fraction
        self.margin_y_fraction = margin_y_fraction
        self.priors = PersonPriors(**priors) if priors else None
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]

    @staticmethod
    def confidence(svm_margin: np.ndarray) -> np.ndarray:
        """Map the SVM margin (0..~4) to [0, 1) as 1 - exp(-margin), so trackers' thresholds apply."""
        return (1.0 - np.exp(-np.clip(svm_margin, 0, None))).astype(np.float32)

    def tighten(self, rects: np.ndarray) -> np.ndarray:
        """Detection windows (x, y, w, h) [N, 4] -> person boxes xyxy, the window's margins removed."""
        mx = rects[:, 2] * self.margin_x_fraction
        my = rects[:, 3] * self.margin_y_fraction
        return np.stack([rects[:, 0] + mx, rects[:, 1] + my, rects[:, 0] + rects[:, 2] - mx,
                         rects[:, 1] + rects[:, 3] - my], axis=1).astype(np.float32)

    def detect(self, image: np.ndarray) -> sv.Detections:
        img = image
        if self.resize != 1.0:
            interpolation = cv2.INTER_AREA if self.resize < 1.0 else cv2.INTER_LINEAR
            img = cv2.resize(image, None, fx=self.resize, fy=self.resize, interpolation=interpolation)
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        rects, weights = self._hog.detectMultiScale(
            gray, winStride=self.win_stride, padding=self.padding, scale=self.scale
        )
        if len(rects) == 0:
            return sv.Detections.empty()
        # OpenCV's parallel search returns the same windows in an order that varies with thread timing,
        # and the order decides the trackers' ID assignment: put them in one canonical order (x, y, w, h)
        found = np.asarray(rects).reshape(-1, 4)
        order = np.lexsort((found[:, 3], found[:, 2], found[:, 1], found[:, 0]))
        windows = found[order].astype(np.float32) / self.resize
        xyxy = self.tighten(windows)
        conf = self.confidence(np.asarray(weights, dtype=np.float32).reshape(-1)[order])
        keep = conf >= self.min_confidence
        if self.priors is not None:
            keep &= self.priors.keep(xyxy, image.shape[0])
        dets = sv.Detections(xyxy=xyxy[keep], confidence=conf[keep],
                             class_id=np.full(int(keep.sum()), PERSON_CLASS_ID))
        return dets.with_nms(threshold=self.nms_iou) if len(dets) else dets
