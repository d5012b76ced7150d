"""Text encoders of the selector: hashed n-grams (no weights), a frozen HF model (mean-pooled), or LoRA on an LM.

Why three: `hashing` runs anywhere with nothing to load; `text` is the default (a frozen encoder, features computed
once, only a small head trains); `lora` is VisionCoach's released recipe (LoRA on a language model, a linear head on
the last token). LoRA is implemented here in a few lines (peft is not a dependency): B is zero-initialised, so
training starts from the frozen model exactly.
"""

from __future__ import annotations

import math
import re
import zlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

_WORD = re.compile(r"\w+")


class TextEncoder(nn.Module):
    """What the selector needs of an encoder: texts -> [N, dim] features, and whether it trains."""

    dim: int
    trainable: bool = False


class HashingEncoder(TextEncoder):
    """Counts of hashed word n-grams (orders 1..ngrams), L2-normalised -> [N, dim]. crc32 keeps buckets stable."""

    trainable = False

    def __init__(self, dim: int = 1024, ngrams: int = 1) -> None:
        super().__init__()
        if dim < 1 or ngrams < 1:
            raise ValueError(f"hashing encoder needs dim >= 1 and ngrams >= 1, got {dim}, {ngrams}")
        self.dim, self.ngrams = dim, ngrams

    def spec(self) -> dict[str, Any]:
        return {"kind": "hashing", "dim": self.dim, "ngrams": self.ngrams}

    def forward(self, texts: list[str]) -> torch.Tensor:
        out = torch.zeros(len(texts), self.dim)  # [N, D]
        for i, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for n in range(1, self.ngrams + 1):
                for j in range(len(words) - n + 1):
                    out[i, zlib.crc32(" ".join(words[j : j + n]).encode()) % self.dim] += 1.0
        return out / out.norm(dim=1, keepdim=True).clamp_min(1e-12)


def load_language_model(path: str) -> tuple[Any, Any]:
    """(language model, tokenizer) from a local folder: a VLM's text model, or whatever AutoModel loads."""
    from transformers import AutoModel, AutoTokenizer

    if not path or not Path(path).is_dir():
        raise FileNotFoundError(f"{path!r}: encoder folder not found (train.encoder_path; local weights only)")
    model = AutoModel.from_pretrained(path, dtype=torch.float32)
    lm = getattr(model, "language_model", None) or model
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return lm, tokenizer


class FrozenTextEncoder(TextEncoder):
    """Mean of a frozen language model's last hidden states over the real tokens -> [N, hidden]."""

    trainable = False

    def __init__(self, path: str, max_length: int = 128) -> None:
        super().__init__()
        self.path, self.max_length = path, max_length
        self.lm, self.tokenizer = load_language_model(path)
        self.lm.eval().requires_grad_(False)
        self.dim = int(self.lm.config.hidden_size)

    def spec(self) -> dict[str, Any]:
        return {"kind": "text", "path": self.path, "max_length": self.max_length}

    @torch.no_grad()
    def forward(self, texts: list[str]) -> torch.Tensor:
        device = next(self.lm.parameters()).device
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_length)
        mask = batch["attention_mask"].to(device)  # [N, L]
        hidden = self.lm(input_ids=batch["input_ids"].to(device), attention_mask=mask).last_hidden_state  # [N, L, H]
        weights = mask.unsqueeze(-1).to(hidden.dtype)  # [N, L, 1]
        return ((hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)).float().cpu()  # [N, H]


class LoRALinear(nn.Module):
    """y = base(x) + (alpha / r) * B(A(dropout(x))); base frozen, A Kaiming-uniform, B zeros (starts at base)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.base = base
        self.lora_a = nn.Linear(base.in_features, rank, bias=False)
        self.lora_b = nn.Linear(rank, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_a.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_b.weight)
        self.scale = alpha / rank
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.lora_b(self.lora_a(self.drop(x))) * self.scale


class LoRAEncoder(TextEncoder):
    """LoRA adapters on the named linear layers of a language model; the last real token's hidden state -> [N, H]."""

    trainable = True

    def __init__(self, path: str, max_length: int, rank: int, alpha: float, targets: list[str], dropout: float) -> None:
        super().__init__()
        if rank < 1:
            raise ValueError(f"train.lora_rank must be >= 1, got {rank}")
        self.path, self.max_length, self.rank, self.alpha, self.targets = path, max_length, rank, alpha, list(targets)
        self.dropout = dropout
        self.lm, self.tokenizer = load_language_model(path)
        self.lm.requires_grad_(False)
        wrapped = 0
        for module in list(self.lm.modules()):
            for child_name, child in list(module.named_children()):
                if isinstance(child, nn.Linear) and child_name in self.targets:
                    setattr(module, child_name, LoRALinear(child, rank, alpha, dropout))
                    wrapped += 1
        if not wrapped:
            raise ValueError(f"train.lora_targets {self.targets} match no linear layer of {path}")
        self.dim = int(self.lm.config.hidden_size)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "lora", "path": self.path, "max_length": self.max_length, "rank": self.rank,
            "alpha": self.alpha, "targets": self.targets, "dropout": self.dropout,
        }  # fmt: skip

    def adapter_state(self) -> dict[str, torch.Tensor]:
        """Only the adapters (the base model is reloaded from `path` at predict time)."""
        return {k: v.detach().cpu() for k, v in self.state_dict().items() if ".lora_" in k}

    def forward(self, texts: list[str]) -> torch.Tensor:
        device = next(self.lm.parameters()).device
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_length)
        mask = batch["attention_mask"].to(device)  # [N, L], right-padded
        hidden = self.lm(input_ids=batch["input_ids"].to(device), attention_mask=mask).last_hidden_state  # [N, L, H]
        last = (mask.sum(1) - 1).clamp_min(0)  # [N] index of the last real token
        return hidden[torch.arange(hidden.shape[0], device=device), last].float()  # [N, H]


def build_encoder(spec: dict[str, Any]) -> TextEncoder:
    """An encoder from its spec (what `selector.json` stores), for train and predict alike."""
    kind = spec.get("kind")
    if kind == "hashing":
        return HashingEncoder(int(spec.get("dim", 1024)), int(spec.get("ngrams", 1)))
    if kind == "text":
        return FrozenTextEncoder(str(spec.get("path", "")), int(spec.get("max_length", 128)))
    if kind == "lora":
        return LoRAEncoder(
            str(spec.get("path", "")), int(spec.get("max_length", 128)), int(spec.get("rank", 8)),
            float(spec.get("alpha", 16.0)), list(spec.get("targets", ["q_proj", "v_proj"])),
            float(spec.get("dropout", 0.0)),
        )  # fmt: skip
    raise ValueError(f"train.encoder must be text, hashing or lora, got {kind!r}")
