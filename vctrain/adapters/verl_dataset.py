"""verl's `RLHFDataset` with each exported video's true frame times.

    data.custom_cls.path=pkg://vctrain.adapters.verl_dataset data.custom_cls.name=TrueTimesRLHFDataset

Loaded by verl (it imports verl), never by `vctrain` itself. verl hands a frame list to qwen-vl-utils, whose
made-up metadata starts every clip at 0 s at `sample_fps`: right spacing for Qwen2.5-VL, wrong Qwen3-VL timestamp
text. This class swaps in the metadata from the entry's `frame_indices` and `source_fps`
(`vctrain.adapters.video_times`), in the prompt-length filter and in the rollout's agent loop (both reach
`_process_multi_modal_info`).
"""

from __future__ import annotations

from typing import Any

from qwen_vl_utils.vision_process import extract_vision_info  # type: ignore[import-not-found]
from verl.utils.dataset.rl_dataset import RLHFDataset  # type: ignore[import-not-found]

from vctrain.adapters.video_times import true_video_metadata


class TrueTimesRLHFDataset(RLHFDataset):  # type: ignore[misc]
    """RLHFDataset whose videos carry their frames' source indices and rate to the processor."""

    @classmethod
    def _process_multi_modal_info(cls, messages: list[dict], image_patch_size: int, config: Any) -> tuple:
        images, videos, audios = super()._process_multi_modal_info(messages, image_patch_size, config)
        if videos:
            entries = [e for e in extract_vision_info(messages) if "video" in e]
            fixed = []
            for (frames, metadata), entry in zip(videos, entries):
                fixed.append((frames, true_video_metadata(entry, int(frames.shape[0])) or metadata))
            videos = fixed
        return images, videos, audios

    @classmethod
    async def process_vision_info(cls, messages: list[dict], image_patch_size: int, config: Any = None) -> tuple:
        """The older agent-loop entry point, through the same metadata."""
        images, videos, _ = cls._process_multi_modal_info(messages, image_patch_size, config)
        return images, videos
