"""SAM 3 text-prompted video tracking: each sample's object phrase becomes every matching instance, with IDs.

SAM 3 (transformers 5: `Sam3VideoModel` + `Sam3VideoProcessor`) detects the instances of a noun phrase
on every frame and follows them with its memory tracker, so no detector class table is needed: a
VidSTG `antelope` or a V-STaR `red kettle` is prompted as written. The pipeline binds the tracker to
the phrases of one video's samples (`PhraseTracker.for_phrases`, the samples' first object names);
a track's `class_id` is its phrase's index. The recipe's detector is not called, and its classes do not
limit which samples are tracked.

Weights come from a local folder only (`checkpoint:`, the layout `save_pretrained` writes, as on the
hub's `facebook/sam3`). The real weights are gated on the Hugging Face hub (accept the licence there,
download once, point `checkpoint` at the folder); nothing is downloaded at run time.

Long clips: SAM 3's inference session keeps every frame it has seen and every frame's outputs, so
memory grows with the clip. Frames are therefore processed in chunks of `chunk_frames` that share
their boundary frame; each chunk gets a fresh session, and its objects are linked to the previous
chunk's by mask IoU on the shared frame (same phrase, IoU >= `link_min_iou`, best pairs first), so an
object keeps its ID across chunks. torch and transformers are imported only when the tracker is built.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vcprep.core.masks import mask_box, mask_overlaps
from vcprep.core.types import Frame, Tracks
from vcprep.track.builder import TrackBuilder
from vcprep.track.trackers.base import PhraseTracker, VideoTracker


@dataclass
class ChunkObject:
    """One object on a chunk's last (shared) frame, under its global ID."""

    mask: np.ndarray
    """[H, W] bool, source pixels."""
    phrase_index: int
    """Index of the phrase that found it (also its `class_id` in the tracks)."""


def link_chunk_ids(
    previous: dict[int, ChunkObject], current: dict[int, ChunkObject], *, min_iou: float = 0.5
) -> dict[int, int]:
    """Chunk-local ID -> previous global ID, for objects of the same phrase whose masks on the shared frame
    overlap at IoU >= `min_iou`; best IoU pairs first, each previous ID used once. Unlinked IDs are absent."""
    pairs: list[tuple[float, int, int]] = []
    for local, obj in current.items():
        for glob, prev in previous.items():
            if prev.phrase_index != obj.phrase_index:
                continue
            iou, _ = mask_overlaps(obj.mask[None], prev.mask[None])
            if float(iou[0, 0]) >= min_iou:
                pairs.append((float(iou[0, 0]), local, glob))
    links: dict[int, int] = {}
    for _, local, glob in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if local not in links and glob not in links.values():
            links[local] = glob
    return links


class SAM3Tracker(PhraseTracker):
    def __init__(
        self,
        *,
        checkpoint: str | None = None,
        device: str = "auto",
        chunk_frames: int = 32,
        link_min_iou: float = 0.5,
        min_mask_pixels: int = 16,
        phrases: Sequence[str] = (),
    ) -> None:
        """
        Args:
            checkpoint: local folder holding a SAM 3 video model and its processor (`save_pretrained`
                layout; the hub's `facebook/sam3` is gated: download it once yourself). Nothing is downloaded.
            device: `cpu`, `cuda`, `cuda:N`, or `auto` (CUDA when available).
            chunk_frames: frames per inference session (consecutive chunks share one frame); bounds memory.
            link_min_iou: an object of a new chunk keeps the previous chunk's ID when their masks on the
                shared frame overlap at least this much (same phrase).
            min_mask_pixels: a mask smaller than this is a lost object on that frame, not a box.
            phrases: the text prompts; the pipeline sets them per video from the samples' object names.
        """
        import torch
        from transformers import Sam3VideoModel, Sam3VideoProcessor

        if not checkpoint:
            raise ValueError("the `sam3` tracker needs `checkpoint`: a local folder with a SAM 3 video model "
                             "(the facebook/sam3 weights are gated on the Hugging Face hub; download them once)")
        folder = Path(checkpoint).expanduser()
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"SAM 3 checkpoint not found: {checkpoint} has no config.json (give the local "
                                    "folder of a downloaded facebook/sam3; the weights are gated and nothing is "
                                    "downloaded)")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        model = Sam3VideoModel.from_pretrained(str(folder), local_files_only=True)
        self.model = model.to(self.device).eval()  # type: ignore[arg-type]
        self.processor = Sam3VideoProcessor.from_pretrained(str(folder), local_files_only=True)
        self.chunk_frames = max(2, int(chunk_frames))
        self.link_min_iou = link_min_iou
        self.min_mask_pixels = min_mask_pixels
        self.phrases = tuple(phrases)

    def for_phrases(self, phrases: Sequence[str]) -> VideoTracker:
        bound = copy.copy(self)  # shallow: the model and processor are shared
        bound.phrases = tuple(phrases)
        return bound

    # -- the video loop ---------------------------------------------------------------------------
    def track(self, frames: Iterable[Frame], detect: Callable[[Frame], Any]) -> Tracks:
        """Every instance of the phrases over the frames; `detect` is not used (SAM 3 detects from text).

        Nothing persists between calls: every call starts from no objects.
        """
        out = TrackBuilder()
        carried: dict[int, ChunkObject] = {}
        next_id = [1]
        chunk: list[Frame] = []
        for frame in frames:
            out.add_frame(frame)
            if len(chunk) == self.chunk_frames:  # full, and more follows: its last frame starts the next chunk
                carried = self._chunk(chunk, carried, out, next_id, emit_last=False)
                chunk = chunk[-1:]
            chunk.append(frame)
        if chunk:
            self._chunk(chunk, carried, out, next_id, emit_last=True)
        return out.build()

    def _chunk(self, chunk: list[Frame], carried: dict[int, ChunkObject], out: TrackBuilder,
               next_id: list[int], *, emit_last: bool) -> dict[int, ChunkObject]:
        """Track one chunk in a fresh session; returns its objects on its last frame under global IDs."""
        import torch

        if not self.phrases:
            return {}
        session = self.processor.init_video_session(inference_device=self.device, dtype=torch.float32)
        self.processor.add_text_prompt(session, list(self.phrases))
        to_global: dict[int, int] = {}
        last_objects: dict[int, ChunkObject] = {}
        with torch.inference_mode():
            for k, frame in enumerate(chunk):
                inputs = self.processor(images=frame.image, return_tensors="pt")
                output = self.model(inference_session=session, frame=inputs.pixel_values[0].to(self.device))
                post = self.processor.postprocess_outputs(session, output, original_sizes=inputs.original_sizes)
                objects = self._objects(post)
                if k == 0 and carried:
                    to_global.update(link_chunk_ids(carried, objects, min_iou=self.link_min_iou))
                for local in objects:
                    if local not in to_global:
                        to_global[local] = next_id[0]
                        next_id[0] += 1
                scores = dict(zip(np.asarray(post["object_ids"]).tolist(), np.asarray(post["scores"]).tolist()))
                ids = list(objects)
                if k == len(chunk) - 1:
                    last_objects = {to_global[i]: objects[i] for i in ids}
                if k == len(chunk) - 1 and not emit_last:
                    continue  # the shared frame: the next chunk emits it, under the linked IDs
                if not ids:
                    continue
                out.add(frame, np.asarray([to_global[i] for i in ids], np.int64),
                        np.asarray([mask_box(objects[i].mask) for i in ids], np.float32).reshape(-1, 4),
                        np.asarray([scores.get(i, 1.0) for i in ids], np.float32),
                        np.asarray([objects[i].phrase_index for i in ids], np.int32),
                        [objects[i].mask for i in ids])
        del session
        return last_objects

    def _objects(self, post: dict[str, Any]) -> dict[int, ChunkObject]:
        """Chunk-local ID -> mask and phrase of one frame's post-processed output (tiny masks dropped)."""
        phrase_of = {int(oid): self.phrases.index(text)
                     for text, oids in post["prompt_to_obj_ids"].items() for oid in oids}
        masks = np.asarray(post["masks"].cpu() if hasattr(post["masks"], "cpu") else post["masks"]) > 0
        objects = {}
        for oid, mask in zip(np.asarray(post["object_ids"]).tolist(), masks):
            if int(mask.sum()) >= self.min_mask_pixels and int(oid) in phrase_of:
                objects[int(oid)] = ChunkObject(mask, phrase_of[int(oid)])
        return objects
