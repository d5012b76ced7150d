"""Prompt tokens per exported row, counted by the model's own processor before anyone launches a run.

Why: verl and EasyR1 drop every row whose prompt is longer than `data.max_prompt_length` (EasyR1 without naming
them), and visual tokens dominate a video prompt. Counting with the named processor at the pixel limits the run
will use gives the real number: text, chat template, visual tokens and, for Qwen3-VL, its timestamp text.
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

VIDEO = "video"
IMAGES = "images"


@dataclass(frozen=True)
class TokenBudget:
    """What `vcprep export --processor` counts prompt tokens with."""

    processor: str
    """A local processor folder (or a cached Hugging Face name) loaded with `AutoProcessor`."""
    min_pixels: int | None = None
    """Smallest frame area in pixels (the framework's `min_pixels`); None keeps the processor's own."""
    max_pixels: int | None = None
    """Largest frame area in pixels (the framework's `max_pixels`); None keeps the processor's own."""
    max_prompt_length: int | None = None
    """The framework's `data.max_prompt_length`: rows over it are named in a warning (verl and EasyR1 drop them)."""


@dataclass
class TokenReport:
    """Prompt tokens per row and what they mean for a run."""

    budget: TokenBudget
    per_row: dict[str, int] = field(default_factory=dict)
    """`sample_id/variant` -> prompt tokens."""

    def stats(self) -> dict[str, float]:
        values = list(self.per_row.values())
        if not values:
            return {"min": 0, "median": 0, "max": 0}
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    def over_limit(self) -> list[str]:
        """Rows a framework with `max_prompt_length` would drop (or cut), longest first."""
        limit = self.budget.max_prompt_length
        if limit is None:
            return []
        return sorted((k for k, v in self.per_row.items() if v > limit), key=lambda k: -self.per_row[k])


QWEN_VL_UTILS_VERSION = "0.0.14"
"""The qwen-vl-utils whose frame-list resizing `video_frame_size` follows (what verl and EasyR1 call)."""


def qwen_smart_size(height: int, width: int, *, factor: int, min_pixels: float,
                    max_pixels: float) -> tuple[int, int]:
    """qwen-vl-utils' `smart_resize` rule: each side rounded to a multiple of `factor`; when that area leaves
    [min_pixels, max_pixels] both sides are scaled by one factor (aspect kept) and floored (too large) or ceiled
    (too small) to a multiple of `factor`. Returns (height, width)."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"a {width}x{height} frame: aspect ratio over 200, which Qwen's resize refuses")
    h, w = max(factor, round(height / factor) * factor), max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h, w = math.floor(height / beta / factor) * factor, math.floor(width / beta / factor) * factor
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h, w = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return h, w


def video_frame_size(height: int, width: int, n_frames: int, *, factor: int, min_pixels: int | None = None,
                     max_pixels: int | None = None, frame_list: bool = True,
                     model_seq_len: int = 128_000) -> tuple[int, int]:
    """The size qwen-vl-utils (`fetch_video`, 0.0.14) gives every frame of a video entry whose `min_pixels` /
    `max_pixels` are these (None: not in the entry). `factor` is the model's patch size times its 2x2 merge (28
    for Qwen2.5-VL, 32 for Qwen3-VL). Returns (height, width).

    1. Only for a frame list (`frame_list`, verl's entries; a video file, EasyR1's, skips it): each frame is read
       as an image, with the factor doubled (fetch_video hands `fetch_image` the merged factor where that takes
       a patch size) and the image limits (4 to 16,384 doubled-factor tiles by default). At 256x192 and factor
       28 this gives 280x168, not 252x196.
    2. The stacked frames are resized within the video limits: at least `min_pixels` (default 128 tiles) and at
       most the smallest of `max_pixels`, 768 tiles and the frame's share of a `model_seq_len`-tile budget
       (`MODEL_SEQ_LEN`) over the frame count padded to even (never under 1.05x the minimum).
    """
    h, w = height, width
    if frame_list:
        image_factor = 2 * factor
        h, w = qwen_smart_size(h, w, factor=image_factor,
                               min_pixels=4 * image_factor**2 if min_pixels is None else min_pixels,
                               max_pixels=16384 * image_factor**2 if max_pixels is None else max_pixels)
    frames = n_frames + n_frames % 2
    low = 128 * factor**2 if min_pixels is None else min_pixels
    cap = max(min(768 * factor**2, model_seq_len * factor**2 * 0.9 / frames * 2), int(low * 1.05))
    return qwen_smart_size(h, w, factor=factor, min_pixels=low,
                           max_pixels=cap if max_pixels is None else min(max_pixels, cap))


def _video_metadata(frame_indices: Sequence[int], source_fps: float, rate_fps: float) -> dict[str, Any]:
    """The frames' true times for the processor: Qwen3-VL's timestamps are `frame_index / fps`; `total_num_frames`
    makes transformers' `sampled_fps` (n / total * fps) the row's rate, which Qwen2.5-VL spaces its positions by.
    `frame_indices` is already padded to an even count, as the frames are."""
    return {"fps": source_fps, "frames_indices": list(frame_indices),
            "total_num_frames": len(frame_indices) / rate_fps * source_fps}


class PromptTokenCounter:
    """Counts a row's prompt tokens the way the framework's processor call will see it.

    As a video, the frames are first resized per frame as qwen-vl-utils resizes a frame list
    (`video_frame_size`, at the budget's pixel limits), then handed to the processor with its own settings, as
    verl's dataset does: the processor's resize only changes frames its own limits refuse (Qwen3-VL's video
    processor reads its `longest_edge` as a budget for the whole clip, so a long clip can shrink further
    there). As images, each frame is resized by the processor within the budget's limits, per image.
    """

    def __init__(self, budget: TokenBudget) -> None:
        try:
            from transformers import AutoProcessor
        except ImportError as exc:
            raise ImportError("`vcprep export --processor` needs transformers (pip install transformers)") from exc
        self.budget = budget
        self.processor = AutoProcessor.from_pretrained(budget.processor)
        self.size: dict[str, int] = {}
        if budget.min_pixels is not None:
            self.size["shortest_edge"] = budget.min_pixels
        if budget.max_pixels is not None:
            self.size["longest_edge"] = budget.max_pixels
        video = self.processor.video_processor
        self.factor = int(video.patch_size) * int(video.merge_size)
        """The merged patch size (28 for Qwen2.5-VL, 32 for Qwen3-VL): each resized side is a multiple of it."""
        self.timestamps_from_metadata = type(self.processor).__name__.startswith("Qwen3VL")
        """Whether the model reads each patch's time as text computed from the video's metadata (Qwen3-VL), so a
        framework that passes no metadata gives it wrong times."""

    def count(self, messages: list[dict[str, Any]], row: dict[str, Any], frames_as: str, rate_fps: float, *,
              frame_list: bool = True) -> int:
        """Tokens of the chat-templated prompt with the row's frames as one video (`frames_as="video"`: a frame
        list as verl reads it, or with `frame_list=False` a video file as EasyR1 reads it) or one image a frame."""
        return int(self.encode(messages, row, frames_as, rate_fps, frame_list=frame_list).shape[-1])

    def encode(self, messages: list[dict[str, Any]], row: dict[str, Any], frames_as: str, rate_fps: float, *,
               frame_list: bool = True) -> Any:
        """The prompt's token ids (1 x length), as the processor makes them."""
        from PIL import Image

        images = []
        for frame in row["frames"]:
            with Image.open(io.BytesIO(frame["bytes"])) as image:
                images.append(image.convert("RGB"))
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        kwargs: dict[str, Any] = {"text": [text], "return_tensors": "np"}
        if frames_as == VIDEO:
            kwargs.update(self._video_inputs(images, row, rate_fps, frame_list))
        else:
            size = {"size": {**self._default_size(), **self.size}} if self.size else {}
            kwargs.update(images=images, **size)
        return self.processor(**kwargs)["input_ids"]

    def _video_inputs(self, images: list[Any], row: dict[str, Any], rate_fps: float,
                      frame_list: bool) -> dict[str, Any]:
        """The processor's video arguments: frames resized as qwen-vl-utils does, padded to an even count by
        repeating the last (as it does), with their true times."""
        import numpy as np
        from PIL import Image

        height, width = video_frame_size(images[0].height, images[0].width, len(images), factor=self.factor,
                                         min_pixels=self.budget.min_pixels, max_pixels=self.budget.max_pixels,
                                         frame_list=frame_list)
        frames = [np.asarray(im.resize((width, height), Image.Resampling.BICUBIC)) for im in images]
        indices = [int(i) for i in row["frame_indices"]]
        if len(frames) % 2:
            frames.append(frames[-1])
            indices.append(indices[-1])
        kwargs: dict[str, Any] = {"videos": [np.stack(frames)], "do_sample_frames": False,
                                  "video_metadata": [_video_metadata(indices, row["video_fps"], rate_fps)]}
        if hasattr(self.processor.video_processor, "cap_pixels_per_frame"):
            kwargs["cap_pixels_per_frame"] = False  # what the frameworks' transformers (< 5.22) do
        return kwargs

    def _default_size(self) -> dict[str, int]:
        own = dict(getattr(self.processor.image_processor, "size", None) or {})
        return {k: v for k, v in own.items() if k in ("shortest_edge", "longest_edge")}
