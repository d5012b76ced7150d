"""SAM2 video propagation as STVG-R1 builds ID-consistent objects (arXiv 2602.11730).

Boxes become masks (SAM2 image predictor, one mask per box); SAM2's video predictor propagates
all masks; every `redetect_every` tracked frames the detector runs again and a detection becomes
a new object only if its mask IoU with every tracked mask is below `new_object_max_iou` (0.4);
when two masks contain each other at `containment_drop` (0.6) or more, the smaller is dropped.

Long videos: the video is processed in segments of `redetect_every + 1` frames that share their
boundary frame. Each segment gets a fresh SAM2 state holding only its own frames, seeded with the
masks carried over from the previous segment's last frame, so memory does not grow with video
length. (SAM2 also refuses new object ids once propagation has started, which makes re-detection
points natural segment starts.) torch and sam2 are imported only when the tracker is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vcprep.core.masks import mask_box, mask_overlaps
from vcprep.core.types import Frame, Tracks
from vcprep.track.builder import TrackBuilder
from vcprep.track.trackers.base import VideoTracker

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def select_new_objects(
    tracked: np.ndarray, candidates: np.ndarray, scores: np.ndarray, *, max_iou: float = 0.4, min_pixels: int = 1
) -> list[int]:
    """Indices of candidate masks [C, H, W] accepted as new objects, best score first.

    A candidate is new only if its IoU with every tracked mask [T, H, W] *and* every candidate
    accepted before it is below `max_iou` (so one person detected twice becomes one object).
    """
    accepted: list[int] = []
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    for i in order:
        cand = candidates[i : i + 1]
        if int(cand.sum()) < min_pixels:
            continue
        others = [m for m in (tracked, candidates[accepted]) if len(m)]
        if others:
            iou, _ = mask_overlaps(cand, np.concatenate(others))
            if iou.max() >= max_iou:
                continue
        accepted.append(int(i))
    return accepted


def drop_contained(masks: np.ndarray, *, min_containment: float = 0.6) -> np.ndarray:
    """Keep-flags [N]: of two masks with |a ∩ b| / min(|a|, |b|) >= `min_containment`, drop the smaller.

    Masks are visited largest first, so a chain (c inside b inside a) keeps only `a`.
    Equal areas: the later index (the newer object) is dropped.
    """
    n = len(masks)
    keep = np.zeros(n, bool)
    if n == 0:
        return keep
    areas = np.asarray(masks, bool).reshape(n, -1).sum(1)
    _, contain = mask_overlaps(masks, masks)
    for i in sorted(range(n), key=lambda k: (-areas[k], k)):
        kept = np.flatnonzero(keep)
        keep[i] = areas[i] > 0 and not (kept.size and contain[i, kept].max() >= min_containment)
    return keep


@dataclass
class _Object:
    mask: np.ndarray  # [H, W] bool, source pixels, on the current segment's first frame
    score: float
    class_id: int


class SAM2Tracker(VideoTracker):
    def __init__(
        self,
        *,
        config: str = "configs/sam2.1/sam2.1_hiera_t.yaml",
        checkpoint: str | None = None,
        random_weights: bool = False,
        device: str = "auto",
        image_size: int | None = None,
        redetect_every: int = 15,
        new_object_max_iou: float = 0.4,
        containment_drop: float = 0.6,
        min_mask_pixels: int = 16,
        bfloat16: bool = True,
    ) -> None:
        """
        Args:
            config: SAM2 model config inside the sam2 package (`configs/sam2.1/sam2.1_hiera_{t,s,b+,l}.yaml`).
            checkpoint: local SAM2 checkpoint (`sam2.1_hiera_tiny.pt`); nothing is downloaded.
            random_weights: build without a checkpoint (tests and architecture checks only).
            device: `cpu`, `cuda`, `cuda:N`, or `auto` (CUDA when available).
            image_size: SAM2 input size override (1024 by default; 512 is ~8x faster on CPU).
            redetect_every: re-run the detector every this many *tracked* frames (STVG-R1: 15).
            new_object_max_iou: a detection is a new object only if its mask IoU with every
                tracked mask is below this (STVG-R1: 0.4).
            containment_drop: of two masks containing each other at least this much, drop the
                smaller (STVG-R1: 0.6).
            min_mask_pixels: a mask smaller than this is a lost object, not a track.
            bfloat16: autocast to bfloat16 on CUDA (as SAM2's own examples do); ignored on CPU.
        """
        import torch
        from sam2.build_sam import build_sam2_video_predictor
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        if checkpoint is None and not random_weights:
            raise ValueError("the `sam2` tracker needs `checkpoint` (a local SAM2 .pt file); "
                             "set random_weights: true only for tests")
        if checkpoint is not None and not Path(checkpoint).expanduser().is_file():
            raise FileNotFoundError(f"SAM2 checkpoint not found: {checkpoint} (give a local path; "
                                    "nothing is downloaded)")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        overrides = [f"++model.image_size={int(image_size)}"] if image_size else []
        self.predictor = build_sam2_video_predictor(
            config, ckpt_path=str(Path(checkpoint).expanduser()) if checkpoint else None, device=device,
            hydra_overrides_extra=overrides,
        )
        self.image_predictor = SAM2ImagePredictor(self.predictor)
        size = self.predictor.image_size
        # the image predictor hard-codes feature sizes for 1024 px inputs; derive them from the model
        self.image_predictor._bb_feat_sizes = [(size // 4, size // 4), (size // 8, size // 8), (size // 16, size // 16)]
        self.device = torch.device(device)
        self.redetect_every = max(1, int(redetect_every))
        self.new_object_max_iou = new_object_max_iou
        self.containment_drop = containment_drop
        self.min_mask_pixels = min_mask_pixels
        self.bfloat16 = bfloat16 and self.device.type == "cuda"

    # -- the video loop ---------------------------------------------------------------------------
    def track(self, frames: Iterable[Frame], detect: Callable[[Frame], Any]) -> Tracks:
        """Track objects over the frames; `detect(frame)` is called on re-detection frames only.

        Nothing persists between calls: every call starts from no objects.
        """
        import torch

        out = TrackBuilder()
        objects: dict[int, _Object] = {}
        next_id = [1]
        segment: list[Frame] = []
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if self.bfloat16 else torch.autocast("cpu", enabled=False)
        with torch.inference_mode(), ctx:
            for frame in frames:
                out.add_frame(frame)
                segment.append(frame)
                if len(segment) == self.redetect_every + 1:
                    objects = self._segment(segment, objects, detect, out, next_id, emit_last=False)
                    segment = segment[-1:]
            if segment:
                self._segment(segment, objects, detect, out, next_id, emit_last=True)
        return out.build()

    def _segment(
        self, segment: list[Frame], objects: dict[int, _Object], detect: Callable[[Frame], Any],
        out: Any, next_id: list[int], *, emit_last: bool,
    ) -> dict[int, _Object]:
        first = segment[0]
        objects = self._redetect(first, objects, detect(first), next_id)
        if not objects:
            return {}
        state = self._init_state([f.image for f in segment])
        for oid, obj in objects.items():
            self.predictor.add_new_mask(state, frame_idx=0, obj_id=oid, mask=obj.mask)
        carried: dict[int, _Object] = {}
        last = len(segment) - 1
        for idx, obj_ids, logits in self.predictor.propagate_in_video(state):
            masks = (logits[:, 0] > 0.0).cpu().numpy()
            ids, boxes, keep_masks = [], [], []
            for oid, mask in zip(obj_ids, masks):
                if int(mask.sum()) < self.min_mask_pixels:
                    continue  # lost on this frame; SAM2 may find it again later in the segment
                ids.append(int(oid))
                boxes.append(mask_box(mask))
                keep_masks.append(mask)
                if idx == last:
                    carried[int(oid)] = _Object(mask, objects[oid].score, objects[oid].class_id)
            if idx == last and not emit_last:
                continue  # the next segment starts on this frame and emits it
            out.add(segment[idx], np.asarray(ids, np.int64), np.asarray(boxes, np.float32).reshape(-1, 4),
                    np.asarray([objects[i].score for i in ids], np.float32),
                    np.asarray([objects[i].class_id for i in ids], np.int32), keep_masks if ids else None)
        del state
        return carried

    def _redetect(self, frame: Frame, objects: dict[int, _Object], dets: Any, next_id: list[int]) -> dict[int, _Object]:
        """STVG-R1's rules on one re-detection frame: admit new objects, then drop contained masks."""
        objects = dict(objects)
        if dets is not None and len(dets):
            cand = self._box_masks(frame.image, dets.xyxy)
            tracked = np.stack([o.mask for o in objects.values()]) if objects else np.zeros((0, *cand.shape[1:]), bool)
            scores = dets.confidence if dets.confidence is not None else np.ones(len(dets))
            classes = dets.class_id if dets.class_id is not None else np.zeros(len(dets), int)
            for i in select_new_objects(tracked, cand, scores, max_iou=self.new_object_max_iou,
                                        min_pixels=self.min_mask_pixels):
                objects[next_id[0]] = _Object(cand[i], float(scores[i]), int(classes[i]))
                next_id[0] += 1
        if len(objects) > 1:
            ids = list(objects)
            keep = drop_contained(np.stack([objects[i].mask for i in ids]), min_containment=self.containment_drop)
            objects = {i: objects[i] for i, k in zip(ids, keep) if k}
        return objects

    def _box_masks(self, image: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """One SAM2 mask per box [N, H, W] bool (image predictor, single-mask output)."""
        self.image_predictor.set_image(image)
        masks, _, _ = self.image_predictor.predict(box=np.asarray(xyxy, np.float32), multimask_output=False)
        return np.asarray(masks).reshape(len(xyxy), *image.shape[:2]) > 0

    def _init_state(self, images: list[np.ndarray]) -> dict[str, Any]:
        """SAM2's `init_state` for frames already in memory (it only reads files or folders).

        Mirrors sam2 1.1 `SAM2VideoPredictor.init_state` after its `load_video_frames` call.
        """
        from collections import OrderedDict

        import torch

        size = self.predictor.image_size
        batch = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_LINEAR) for im in images])
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255.0)
        x = (x - torch.tensor(_MEAN)[:, None, None]) / torch.tensor(_STD)[:, None, None]
        h, w = images[0].shape[:2]
        state: dict[str, Any] = {
            "images": x.to(self.device), "num_frames": len(images), "offload_video_to_cpu": False,
            "offload_state_to_cpu": False, "video_height": h, "video_width": w, "device": self.device,
            "storage_device": self.device, "point_inputs_per_obj": {}, "mask_inputs_per_obj": {},
            "cached_features": {}, "constants": {}, "obj_id_to_idx": OrderedDict(),
            "obj_idx_to_id": OrderedDict(), "obj_ids": [], "output_dict_per_obj": {},
            "temp_output_dict_per_obj": {}, "frames_tracked_per_obj": {},
        }
        self.predictor._get_image_feature(state, frame_idx=0, batch_size=1)
        return state
