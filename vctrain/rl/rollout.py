"""Rollout engines: G sampled responses per prompt. The seam where a faster engine (vLLM, SGLang) plugs in.

An engine only has to return token ids, a mask of the real tokens (through the first end-of-turn token) and
the decoded texts; the loop scores those ids with the training model itself, so engines may differ numerically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch

from vctrain.config import RolloutConfig


@dataclass
class Rollout:
    """G responses to one prompt."""

    completion_ids: torch.Tensor  # [G, T] long, padded after the end token
    completion_mask: torch.Tensor  # [G, T] 1 for generated tokens up to and including the end token
    texts: list[str]  # [G] decoded without special tokens


class RolloutEngine(Protocol):
    def generate(self, model: Any, prompt: dict[str, torch.Tensor], group_size: int) -> Rollout: ...


def completion_mask(ids: torch.Tensor, eos_ids: list[int]) -> torch.Tensor:
    """[G, T] mask keeping tokens up to and including the first end token of each row (all if none)."""
    is_end = torch.isin(ids, torch.tensor(eos_ids, device=ids.device))  # [G, T]
    after_end = (is_end.long().cumsum(dim=1) - is_end.long()) > 0  # strictly after the first end token
    return (~after_end).long()


class HFGenerateEngine:
    """Hugging Face `generate` with sampling; one call returns the whole group (num_return_sequences=G)."""

    def __init__(
        self,
        tokenizer: Any,
        cfg: RolloutConfig,
        eos_ids: list[int],
        pad_id: int,
        banned_ids: list[int],
        synced_gpus: bool = False,
    ) -> None:
        self.synced_gpus = synced_gpus  # FSDP: ranks keep stepping until all are done (each step is collective)
        self.tokenizer = tokenizer
        self.banned_ids = banned_ids
        self.cfg = cfg
        self.eos_ids = eos_ids
        self.pad_id = pad_id

    @torch.no_grad()
    def generate(self, model: Any, prompt: dict[str, torch.Tensor], group_size: int) -> Rollout:
        was_training = model.training
        model.eval()  # no dropout while sampling; also re-enables the KV cache under gradient checkpointing
        try:
            out = model.generate(
                **prompt,
                do_sample=True,
                temperature=self.cfg.temperature,
                top_p=self.cfg.top_p,
                top_k=self.cfg.top_k or None,
                max_new_tokens=self.cfg.max_new_tokens,
                num_return_sequences=group_size,
                eos_token_id=self.eos_ids,
                pad_token_id=self.pad_id,
                suppress_tokens=self.banned_ids or None,
                use_cache=True,
                synced_gpus=self.synced_gpus,
            )
        finally:
            model.train(was_training)
        ids = out[:, prompt["input_ids"].shape[1] :]  # [G, T]
        mask = completion_mask(ids, self.eos_ids)
        texts = [
            self.tokenizer.decode(row[: int(m.sum())].tolist(), skip_special_tokens=True) for row, m in zip(ids, mask)
        ]
        return Rollout(ids, mask, texts)


ENGINES = {"hf": HFGenerateEngine}
