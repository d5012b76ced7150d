"""Prompt tokens per exported row, counted by the model's own processor before anyone launches a run.

Why: verl and EasyR1 drop every row whose prompt is longer than `data.max_prompt_length` (EasyR1 without naming
them), and visual tokens dominate a video prompt. Counting with the named processor at the pixel limits the run
will use gives the real number: text, chat template, visual tokens and, for Qwen3-VL, its timestamp text.
"""

from __future__ import annotations

import io
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


def _video_metadata(frame_indices: Sequence[int], source_fps: float, rate_fps: float) -> dict[str, Any]:
    """The frames' true times for the processor: Qwen3-VL's timestamps are `frame_index / fps`; `total_num_frames`
    makes transformers' `sampled_fps` (n / total * fps) the row's rate, which Qwen2.5-VL spaces its positions by."""
    return {"fps": source_fps, "frames_indices": list(frame_indices),
            "total_num_frames": len(frame_indices) / rate_fps * source_fps}


class PromptTokenCounter:
    """Counts a row's prompt tokens the way the framework's processor call will see it."""

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

    def count(self, messages: list[dict[str, Any]], row: dict[str, Any], frames_as: str, rate_fps: float) -> int:
        """Tokens of the chat-templated prompt with the row's frames as one video (`frames_as="video"`) or as one
        image per frame."""
        return int(self.encode(messages, row, frames_as, rate_fps).shape[-1])

    def encode(self, messages: list[dict[str, Any]], row: dict[str, Any], frames_as: str, rate_fps: float) -> Any:
        """The prompt's token ids (1 x length), as the processor makes them."""
        import numpy as np
        from PIL import Image

        images = []
        for frame in row["frames"]:
            with Image.open(io.BytesIO(frame["bytes"])) as image:
                images.append(image.convert("RGB"))
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        kwargs: dict[str, Any] = {"text": [text], "return_tensors": "np"}
        size = {"size": {**self._default_size(), **self.size}} if self.size else {}
        if frames_as == VIDEO:
            if hasattr(self.processor.video_processor, "cap_pixels_per_frame"):  # qwen-vl-utils' frame budget
                kwargs["cap_pixels_per_frame"] = True
            kwargs.update(videos=[np.stack([np.asarray(im) for im in images])], do_sample_frames=False,
                          video_metadata=[_video_metadata(row["frame_indices"], row["video_fps"], rate_fps)], **size)
        else:
            kwargs.update(images=images, **size)
        return self.processor(**kwargs)["input_ids"]

    def _default_size(self) -> dict[str, int]:
        own = dict(getattr(self.processor.video_processor, "size", None) or {})
        return {k: v for k, v in own.items() if k in ("shortest_edge", "longest_edge")}
