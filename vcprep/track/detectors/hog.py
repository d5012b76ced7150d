"""OpenCV's pretrained HOG + linear SVM people detector (Dalal-Triggs), shipped inside opencv-python.

It needs no weights download and no torch, which makes it the default that works anywhere.
"""

from __future__ import annotations

import cv2
import numpy as np
import supervision as sv

from vcprep.track.detectors.base import Detector

PERSON_CLASS_ID = 0  # COCO's "person", so HOG and YOLO outputs share class ids


class HOGPersonDetector(Detector):
    def __init__(
        self,
        *,
        scale: float = 1.05,
        win_stride: int = 8,
        padding: int = 8,
        min_confidence: float = 0.3,
        nms_iou: float = 0.5,
        resize: float = 1.0,
    ) -> None:
        """
        Args:
            scale: pyramid step of detectMultiScale; smaller finds more sizes, runs slower.
            win_stride: window stride in pixels.
            padding: padding added around the image in pixels.
            min_confidence: drop detections under this confidence (see `confidence` below).
            nms_iou: non-maximum suppression threshold over the grouped windows.
            resize: run on a rescaled frame (0.5 is ~4x faster); boxes come back in full pixels.
        """
        self.scale = scale
        self.win_stride = (win_stride, win_stride)
        self.padding = (padding, padding)
        self.min_confidence = min_confidence
        self.nms_iou = nms_iou
        self.resize = resize
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    @staticmethod
    def confidence(svm_margin: np.ndarray) -> np.ndarray:
        """Map the SVM margin (0..~4) to [0, 1) as 1 - exp(-margin), so trackers' thresholds apply."""
        return (1.0 - np.exp(-np.clip(svm_margin, 0, None))).astype(np.float32)

    def detect(self, image: np.ndarray) -> sv.Detections:
        img = image
        if self.resize != 1.0:
            img = cv2.resize(image, None, fx=self.resize, fy=self.resize, interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        rects, weights = self._hog.detectMultiScale(
            gray, winStride=self.win_stride, padding=self.padding, scale=self.scale
        )
        if len(rects) == 0:
            return sv.Detections.empty()
        rects = np.asarray(rects, dtype=np.float32) / self.resize
        xyxy = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        conf = self.confidence(np.asarray(weights, dtype=np.float32).reshape(-1))
        dets = sv.Detections(xyxy=xyxy, confidence=conf, class_id=np.full(len(conf), PERSON_CLASS_ID))
        dets = dets[dets.confidence >= self.min_confidence]
        return dets.with_nms(threshold=self.nms_iou) if len(dets) else dets
