"""Any ultralytics detection or segmentation model, from a local weights file or a model config.

ultralytics is AGPL-3.0 and heavy, so it is an opt-in extra (`pip install vcprep[yolo]`) and is
imported only when this detector is built. Nothing is ever downloaded: `YOLO_OFFLINE` is set
and a weights path that does not exist is an error, not a download. A model config
(`yolo11n.yaml`) builds the architecture with random weights, which is how tests run the
same loading and inference code without a checkpoint.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

from vcprep.track.detectors.base import Detector

COCO_PERSON = "person"


def _coco_names() -> dict[int, str]:
    from ultralytics.utils import ROOT, YAML

    return dict(YAML.load(ROOT / "cfg" / "datasets" / "coco.yaml")["names"])


def resolve_classes(names: dict[int, str], classes: str | list[str | int]) -> list[int] | None:
    """`all` -> None (no filter); `person`; `non-person`; or a list of names / ids -> class ids.

    Unknown names are an error that lists the model's classes, so a typo never filters everything out.
    """
    by_name = {v.lower(): k for k, v in names.items()}
    if classes == "all":
        return None
    if classes in ("person", "non-person"):
        if COCO_PERSON not in by_name:
            raise ValueError(f"class filter {classes!r}: the model has no 'person' class ({sorted(by_name)[:10]}...)")
        person = by_name[COCO_PERSON]
        return [person] if classes == "person" else [k for k in names if k != person]
    if isinstance(classes, str):
        classes = [classes]
    out = []
    for c in classes:
        if isinstance(c, int) or (isinstance(c, str) and c.isdigit()):
            if int(c) not in names:
                raise ValueError(f"class id {c} is not in the model's {len(names)} classes")
            out.append(int(c))
        elif c.lower() in by_name:
            out.append(by_name[c.lower()])
        else:
            raise ValueError(f"unknown class {c!r}; the model knows {sorted(by_name)}")
    return out


class YOLODetector(Detector):
    def __init__(
        self,
        *,
        weights: str,
        classes: str | list[str | int] = "all",
        confidence: float = 0.25,
        nms_iou: float = 0.7,
        image_size: int = 640,
        device: str | None = None,
        half: bool = False,
        batch_size: int = 1,
    ) -> None:
        """
        Args:
            weights: local `.pt` / exported model path, or an ultralytics model config (`*.yaml`,
                random weights: for tests and architecture checks only).
            classes: `all`, `person`, `non-person`, or a list of class names or ids.
            confidence: minimum detection confidence (STVG-R1 uses 0.25).
            nms_iou: IoU threshold of ultralytics' non-maximum suppression.
            image_size: inference size in pixels (longer side).
            device: `cpu`, `cuda`, `cuda:0`...; None lets ultralytics pick.
            half: FP16 inference (GPU only).
            batch_size: frames per `predict` call in the tracking loop (one GPU launch for several
                frames). Results equal one-at-a-time inference. 1 by default: on a CPU, batches of 16
                ran at 0.83x the frames per second of single frames (BENCHMARKS.md); use 8-32 on a GPU.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        os.environ.setdefault("YOLO_OFFLINE", "1")
        try:
            from ultralytics import YOLO
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("the `yolo` detector needs ultralytics: pip install 'vcprep[yolo]' (AGPL-3.0)") from exc
        is_config = str(weights).endswith((".yaml", ".yml"))
        if not is_config and not Path(weights).expanduser().exists():
            raise FileNotFoundError(f"YOLO weights not found: {weights} (give a local path; nothing is downloaded)")
        self.model = YOLO(str(Path(weights).expanduser()) if not is_config else weights)
        names = {int(k): str(v) for k, v in self.model.names.items()}
        if all(v.isdigit() for v in names.values()) and len(names) == 80:
            names = _coco_names()  # a config-built COCO model: give its classes their names
        self.names = names
        self.class_ids = resolve_classes(names, classes)
        self.class_names = tuple(names[k] for k in (self.class_ids if self.class_ids is not None else sorted(names)))
        self.confidence = confidence
        self.nms_iou = nms_iou
        self.image_size = image_size
        self.device = device
        self.half = half
        self.batch_size = batch_size

    def detect(self, image: np.ndarray) -> sv.Detections:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        """One `predict` call for all images (ultralytics stacks them into one batch tensor)."""
        if not images:
            return []
        bgr = [np.ascontiguousarray(image[..., ::-1]) for image in images]  # ultralytics reads numpy as BGR
        extra = {"half": True} if self.half else {}  # passing half=False warns on ultralytics 8.4
        results = self.model.predict(
            bgr, conf=self.confidence, iou=self.nms_iou, imgsz=self.image_size, classes=self.class_ids,
            device=self.device, verbose=False, batch=len(bgr), **extra,
        )
        out = []
        for image, result in zip(images, results, strict=True):
            dets = sv.Detections.from_ultralytics(result)
            if dets.mask is not None and dets.mask.shape[1:] != image.shape[:2]:
                dets.mask = None  # masks at another size cannot be used as source-pixel masks
            out.append(dets)
        return out

    def info(self) -> dict[str, Any]:
        return {"classes": self.class_ids, "num_classes": len(self.names), "task": self.model.task}
