"""Loading a Hugging Face VLM from a local folder, turning a sample into its inputs, and scoring responses.

Why here and not in the loop: these are the only places that know about transformers' processor and model
conventions (chat template, `videos=` as decoded arrays, video metadata, `logits_to_keep`); the loop only
sees tensors. Any model that AutoModelForImageTextToText / AutoProcessor load is accepted.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch

from vcconfig import ConfigError
from vctrain.config import DataConfig, ModelConfig
from vctrain.data.reader import VideoSample


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` picks this rank's GPU when there is one, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        return torch.device("cuda", local_rank)
    return torch.device(name)


def use_bf16(precision: str, device: torch.device) -> bool:
    """bf16 autocast only on GPUs that support it (bf16 on CPU is slower than fp32 here)."""
    if precision == "fp32":
        return False
    supported = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if precision == "bf16" and not supported:
        raise ConfigError(f"model.precision=bf16 but {device} has no bf16 support; use auto or fp32")
    return supported


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def load_model(
    path: str, cfg: ModelConfig, device: torch.device, *, trainable: bool, bf16: bool = False, meta: bool = False
):
    """The policy (fp32 master weights, train mode) or a frozen reference (bf16 when autocasting), on `device`.

    `meta`: the same model without weights (the meta device), for FSDP ranks that receive their shards from rank 0
    instead of each reading the whole checkpoint into host memory."""
    from transformers import AutoConfig, AutoModelForImageTextToText, GenerationConfig

    if not Path(path).is_dir():
        raise FileNotFoundError(f"{path}: model folder not found (vctrain loads local weights only)")
    kwargs: dict[str, Any] = {"dtype": torch.float32 if trainable or not bf16 else torch.bfloat16}
    if cfg.attn_implementation:
        kwargs["attn_implementation"] = cfg.attn_implementation
    if meta:
        with torch.device("meta"):
            model = AutoModelForImageTextToText.from_config(AutoConfig.from_pretrained(path), **kwargs)
        if (Path(path) / "generation_config.json").is_file():
            model.generation_config = GenerationConfig.from_pretrained(path)
    else:
        model = AutoModelForImageTextToText.from_pretrained(path, **kwargs).to(device)  # type: ignore[arg-type]
    if trainable:
        model.train()
        if cfg.gradient_checkpointing:
            # transformers 5 renamed it (the old name warns and goes in v6); >=4.50 has only the old one
            enable = getattr(model, "activation_checkpointing_enable", None)
            if enable is not None:
                enable(activation_checkpointing_kwargs={"use_reentrant": False})
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.config.use_cache = False
    else:
        model.eval()
        model.requires_grad_(False)
    return model


def load_processor(path: str):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(path)


def chat_messages(sample: VideoSample) -> list[dict]:
    """System + user turns; the video goes where the row's `<video>` marker is (first if there is none)."""
    before, marker, after = sample.user_prompt.partition("<video>")
    if not marker:
        before, after = "", sample.user_prompt
    content: list[dict] = []
    if before.strip():
        content.append({"type": "text", "text": before.strip()})
    content.append({"type": "video"})
    if after.strip():
        content.append({"type": "text", "text": after.strip()})
    messages = [{"role": "user", "content": content}]
    if sample.system_prompt:
        messages.insert(0, {"role": "system", "content": [{"type": "text", "text": sample.system_prompt}]})
    return messages


def video_metadata(sample: VideoSample):
    """Metadata giving the processor the frames' true source times (timestamps = frame_index / fps).

    `total_num_frames` is chosen so that transformers' `sampled_fps` (n / total * fps) equals the real rate
    of the kept frames; Qwen2.5-VL derives its temporal position spacing (second_per_grid_ts) from it.
    """
    from transformers.video_utils import VideoMetadata

    n = len(sample.frame_indices)
    span_frames = sample.frame_indices[-1] - sample.frame_indices[0] if n > 1 else 0
    total = max(n, round(span_frames * n / (n - 1))) if n > 1 else 1
    return VideoMetadata(
        total_num_frames=int(total),
        fps=sample.video_fps,
        frames_indices=list(sample.frame_indices),
        width=int(sample.frames.shape[2]),
        height=int(sample.frames.shape[1]),
    )


def encode_prompt(processor, sample: VideoSample, data: DataConfig, device: torch.device) -> dict[str, torch.Tensor]:
    """Processor outputs for one sample (batch of 1): ids, mask, video patches, grid, temporal spacing."""
    text = processor.apply_chat_template(chat_messages(sample), add_generation_prompt=True, tokenize=False)
    inputs = processor(
        text=[text],
        videos=[sample.frames],
        video_metadata=[video_metadata(sample)],
        do_sample_frames=False,
        size={"shortest_edge": data.min_pixels_per_frame, "longest_edge": data.max_pixels_per_frame},
        return_tensors="pt",
    )
    return {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in inputs.items()}


def expand_for_group(prompt: dict[str, torch.Tensor], completion_ids: torch.Tensor, completion_mask: torch.Tensor):
    """Model kwargs for G sequences `prompt + completion_g`: the prompt's visual inputs repeated G times."""
    group = completion_ids.shape[0]
    ids = torch.cat([prompt["input_ids"].expand(group, -1), completion_ids], dim=1)  # [G, P+T]
    mask = torch.cat([prompt["attention_mask"].expand(group, -1), completion_mask.to(prompt["attention_mask"])], 1)
    kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
    for key, value in prompt.items():
        if key in ("input_ids", "attention_mask") or not isinstance(value, torch.Tensor):
            continue
        if key == "mm_token_type_ids":
            kwargs[key] = torch.cat([value.expand(group, -1), torch.zeros_like(completion_ids)], dim=1)
        elif key in ("pixel_values_videos", "pixel_values"):
            kwargs[key] = value.repeat(group, *([1] * (value.dim() - 1)))  # patches of every copy, concatenated
        else:
            kwargs[key] = value.repeat(group, *([1] * (value.dim() - 1)))  # grid_thw [G, 3], second_per_grid_ts [G]
    return kwargs


def completion_logprobs(
    model,
    prompt: dict[str, torch.Tensor],
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
    temperature: float = 1.0,
    banned_ids: list[int] | tuple[int, ...] = (),
) -> torch.Tensor:
    """log pi(y_t | x, y_<t) of each completion token -> [G, T], under the sampling distribution: temperature
    applied and `banned_ids` (tokens the rollout engine may not emit) removed.

    Only the last T+1 positions' logits are materialised (`logits_to_keep`), which matters for 150k vocabularies.
    """
    steps = completion_ids.shape[1]
    out = model(**expand_for_group(prompt, completion_ids, completion_mask), logits_to_keep=steps + 1, use_cache=False)
    logits = out.logits[:, :-1, :].float() / temperature  # [G, T, V]: position t predicts completion token t
    if banned_ids:
        logits[..., list(banned_ids)] = float("-inf")
    return torch.log_softmax(logits, dim=-1).gather(-1, completion_ids.unsqueeze(-1)).squeeze(-1)  # [G, T]


def vision_token_ids(model, tokenizer) -> list[int]:
    """Placeholder tokens a response must never contain: a sampled `<|video_pad|>` would make the next forward
    pass expect video features that do not exist. Read from the model config, then from the tokenizer."""
    ids: set[int] = set()
    for key in ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id"):
        value = getattr(model.config, key, None)
        if isinstance(value, int):
            ids.add(value)
    for token in ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>"):
        tid = tokenizer.convert_tokens_to_ids(token)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid >= 0:
            ids.add(tid)
    return sorted(ids)
