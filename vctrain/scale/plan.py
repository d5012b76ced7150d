"""`vctrain plan`: memory per rank of a training config, before anyone rents a GPU.

The model is built on the meta device from its config.json (no weights are read or allocated), so the parameter
counts are exact for any size; the rest is arithmetic on those counts and on the configured workload:

- weights, gradients, AdamW states: 4 + 4 + 8 bytes a parameter (fp32 master copy, as vctrain trains), all on
  every rank with DDP (plus DDP's gradient buckets, another 4 bytes a parameter, when there are several ranks),
  1/N of them with FSDP, in host memory with FSDP CPU offload;
- the frozen reference (loss.beta > 0): 2 bytes a parameter in bf16, sharded like the policy under FSDP;
- FSDP working set: the root unit (embeddings, lm_head, vision merger) and two decoder layers gathered in the
  compute dtype (one computing, one prefetched), plus one unit's unsharded fp32 gradients during the backward;
- bf16 autocast under DDP caches a bf16 copy of each weight for the forward/backward (2 bytes a parameter);
- activations of one group micro-batch (G sequences of prompt + completion), from what autograd saves per token
  and layer in Qwen2-style blocks (RMSNorm, q/k/v/o, SDPA, SwiGLU), for the text decoder and the vision tower (which
  the loop runs on the G copies of the video), plus the [G, T, V] logits in fp32; with activation checkpointing,
  each layer's input is kept and one layer's activations are live at a time (the per-layer terms were checked
  against the tensors autograd saves for Qwen2.5-VL blocks on CPU: within a few percent);
- the rollout's KV cache (G sequences, every layer) when that is larger than the training activations.

The estimate is checked against measured memory on CPU (tests/test_vctrain_plan.py): parameter, gradient and
optimizer bytes exactly, sharded bytes per rank under FSDP, and the activations autograd really saves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vctrain.config import TrainConfig

GIB = 2**30


@dataclass(frozen=True)
class ModelShape:
    """What memory depends on, read from a model built on the meta device."""

    params: int
    """All parameters (tied embeddings counted once)."""
    largest_unit: int
    """Parameters of the largest FSDP unit (a decoder layer or vision block)."""
    root: int
    """Parameters outside the units (embeddings, lm_head, vision patch embedding and merger, final norm)."""
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    vision_depth: int
    vision_hidden: int
    vision_intermediate: int
    patch: int = 14
    temporal_patch: int = 2
    merge: int = 2


def model_shape(path: str | Path) -> ModelShape:
    """Build the model of `path/config.json` on the meta device and count its parameters."""
    from transformers import AutoConfig, AutoModelForImageTextToText

    from vctrain.scale.distributed import shard_units

    config = AutoConfig.from_pretrained(str(path))
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    params = sum(p.numel() for p in model.parameters())
    units = [sum(p.numel() for p in u.parameters()) for u in shard_units(model)]
    text = config.get_text_config()
    vision = config.vision_config
    return ModelShape(
        params=params,
        largest_unit=max(units),
        root=params - sum(units),
        layers=text.num_hidden_layers,
        hidden=text.hidden_size,
        intermediate=text.intermediate_size,
        heads=text.num_attention_heads,
        kv_heads=text.num_key_value_heads,
        vocab=text.vocab_size,
        vision_depth=vision.depth,
        vision_hidden=vision.hidden_size,
        vision_intermediate=vision.intermediate_size,
        patch=vision.patch_size,
        temporal_patch=vision.temporal_patch_size,
        merge=vision.spatial_merge_size,
    )


@dataclass(frozen=True)
class Workload:
    """One policy micro-batch: G sequences of the same prompt (video + text) and their completions."""

    group_size: int
    """G: sequences in one forward/backward."""
    frames: int
    """Video frames per sample."""
    pixels_per_frame: int
    """Pixels per frame after resizing (the config's max_pixels_per_frame)."""
    completion_tokens: int
    """Tokens per completion (the config's max_new_tokens: the worst case)."""
    prompt_text_tokens: int = 200
    """Text tokens of the prompt besides the video (system + question + chat template)."""
    gradient_checkpointing: bool = False
    """Activation checkpointing on."""
    reference: bool = True
    """A frozen reference model is loaded (loss.beta > 0)."""
    bf16: bool = True
    """bf16 compute (GPUs); fp32 activations otherwise (CPU)."""

    def vision_patches(self, shape: ModelShape) -> int:
        """Patches the vision tower sees for one copy of the video."""
        grid_t = math.ceil(self.frames / shape.temporal_patch)
        return grid_t * max(1, self.pixels_per_frame // (shape.patch * shape.patch))

    def sequence(self, shape: ModelShape) -> int:
        """Tokens of one sequence: merged video tokens + prompt text + completion."""
        return self.vision_patches(shape) // shape.merge**2 + self.prompt_text_tokens + self.completion_tokens


def workload_from_config(cfg: TrainConfig, prompt_text_tokens: int = 200, bf16: bool = True) -> Workload:
    return Workload(
        group_size=cfg.rollout.group_size,
        frames=cfg.data.max_frames,
        pixels_per_frame=cfg.data.max_pixels_per_frame,
        completion_tokens=cfg.rollout.max_new_tokens,
        prompt_text_tokens=prompt_text_tokens,
        gradient_checkpointing=cfg.model.gradient_checkpointing,
        reference=cfg.loss.beta > 0,
        bf16=bf16,
    )


def text_layer_bytes(hidden: int, intermediate: int, head_dim: int, act_bytes: int) -> int:
    """Bytes autograd keeps per token for one Qwen2-style decoder layer: two RMSNorms (fp32 input + normalised
    output each), q, k, v (k/v repeated to all heads for SDPA), the attention output and the o_proj input, the
    rotary cos/sin, and the SwiGLU MLP's gate, up, activated gate and product (the down_proj input)."""
    norms = 2 * (4 * hidden + act_bytes * hidden)
    attention = act_bytes * 5 * hidden + 2 * head_dim * act_bytes
    mlp = act_bytes * 4 * intermediate
    return norms + attention + mlp


def vision_block_bytes(hidden: int, intermediate: int, act_bytes: int) -> int:
    """Bytes autograd keeps per patch for one Qwen2.5-VL vision block: as a text layer, but the windowed attention
    keeps about twice as much (the fused qkv output, rotated q and k, per-window q, k, v and outputs: 10 widths)."""
    return 2 * (4 * hidden + act_bytes * hidden) + act_bytes * 10 * hidden + act_bytes * 4 * intermediate


def activation_bytes(shape: ModelShape, work: Workload) -> dict[str, int]:
    """Bytes autograd keeps for the backward of one group's forward pass, by part (checked against CPU measurement).

    `vision` includes the patch embedding's input and the merger; `logits` the lm_head input and log_softmax output
    over the last T+1 positions; `transient` the logits' other copies alive around the log_softmax (peak only)."""
    a = 2 if work.bf16 else 4
    tokens = work.group_size * work.sequence(shape)
    patches = work.group_size * work.vision_patches(shape)  # the loop runs the video once per sequence
    vh = shape.vision_hidden
    text_layer = text_layer_bytes(shape.hidden, shape.intermediate, shape.hidden // shape.heads, a)
    vision_block = vision_block_bytes(vh, shape.vision_intermediate, a)
    if work.gradient_checkpointing:  # each layer's input kept, one layer's activations recomputed at a time
        text = tokens * (shape.layers * a * shape.hidden + text_layer)
        blocks = patches * (shape.vision_depth * a * vh + vision_block)
    else:
        text = tokens * shape.layers * text_layer
        blocks = patches * shape.vision_depth * vision_block
    text += tokens * (4 + a) * shape.hidden  # final RMSNorm
    patch_input = patches * 3 * shape.temporal_patch * shape.patch**2 * a
    merger = patches * (4 * vh + 4 * a * vh)  # RMSNorm + the 2-layer MLP on 4 merged patches
    rows = work.group_size * (work.completion_tokens + 1)
    return {
        "text": text,
        "vision": blocks + patch_input + merger,
        "logits": rows * (a * shape.hidden + 4 * shape.vocab),
        "transient": rows * shape.vocab * (a + 4),
    }


def kv_cache_bytes(shape: ModelShape, work: Workload) -> int:
    """The rollout's KV cache: G sequences, every layer, keys and values, in the compute dtype."""
    a = 2 if work.bf16 else 4
    head_dim = shape.hidden // shape.heads
    return work.group_size * work.sequence(shape) * shape.layers * 2 * shape.kv_heads * head_dim * a


@dataclass
class MemoryPlan:
    """Bytes per rank on the accelerator, by part, for one strategy."""

    strategy: str
    gpus: int
    parts: dict[str, int] = field(default_factory=dict)
    host: int = 0
    """Bytes per rank kept in host memory (CPU offload)."""

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def fits(self, gpu_memory_gb: float, headroom: float = 0.9) -> bool:
        """Fits in `headroom` of the card (the rest: CUDA context, allocator fragmentation, NCCL buffers)."""
        return self.total <= headroom * gpu_memory_gb * 1e9


def plan_memory(
    shape: ModelShape,
    work: Workload,
    strategy: str,
    gpus: int,
    cpu_offload: bool = False,
    reshard_after_forward: bool = True,
) -> MemoryPlan:
    """Per-rank memory of training `shape` on `work` with `strategy` (`ddp` or `fsdp`) over `gpus` ranks.

    `reshard_after_forward=False` (FSDP only) keeps every gathered unit from its forward to its backward."""
    p = shape.params
    ref_bytes = 2 if work.bf16 else 4
    compute = 2 if work.bf16 else 4
    acts = activation_bytes(shape, work)
    peak_activations = max(sum(acts.values()), kv_cache_bytes(shape, work))
    plan = MemoryPlan(strategy if not cpu_offload else f"{strategy}+offload", gpus)
    if strategy == "ddp":
        plan.parts = {
            "weights": 4 * p,
            "gradients": 4 * p + (4 * p if gpus > 1 else 0),  # + DDP's bucketed copy
            "optimizer": 8 * p,
            "reference": ref_bytes * p if work.reference else 0,
            "working": 2 * p if work.bf16 else 0,  # autocast's bf16 weight cache
            "activations": peak_activations,
        }
    elif strategy == "fsdp":
        shard = 1 / gpus
        states = {
            "weights": int(4 * p * shard),
            "gradients": int(4 * p * shard),
            "optimizer": int(8 * p * shard),
            "reference": int(ref_bytes * p * shard) if work.reference else 0,
        }
        # all-gather outputs (bf16 casts even on one rank) and one unit's unsharded fp32 gradients
        gathered = compute * (shape.root + 2 * shape.largest_unit if reshard_after_forward else p)
        unsharded_grads = 4 * max(shape.root, shape.largest_unit)
        if cpu_offload:
            plan.host = sum(states.values())
            states = dict.fromkeys(states, 0)
        plan.parts = {**states, "working": gathered + unsharded_grads, "activations": peak_activations}
    else:
        raise ValueError(f"strategy must be ddp or fsdp, got {strategy!r}")
    return plan


def plans_for(shape: ModelShape, work: Workload, gpus: int, reshard_after_forward: bool = True) -> list[MemoryPlan]:
    """DDP, FSDP and FSDP with CPU offload, in order of preference (fastest first)."""
    return [
        plan_memory(shape, work, "ddp", gpus),
        plan_memory(shape, work, "fsdp", gpus, reshard_after_forward=reshard_after_forward),
        plan_memory(shape, work, "fsdp", gpus, cpu_offload=True, reshard_after_forward=reshard_after_forward),
    ]


PART_ORDER = ("weights", "gradients", "optimizer", "reference", "working", "activations")


def format_plans(shape: ModelShape, work: Workload, plans: list[MemoryPlan], gpu_memory_gb: float) -> str:
    """A table of GiB per rank by part, the verdict, and the recommended strategy."""
    lines = [
        f"model: {shape.params / 1e9:.2f} B parameters ({shape.layers} decoder layers, {shape.vision_depth} vision "
        f"blocks; largest unit {shape.largest_unit / 1e6:.0f} M, root {shape.root / 1e6:.0f} M)",
        f"workload: G={work.group_size} sequences of {work.sequence(shape)} tokens ({work.frames} frames x "
        f"{work.pixels_per_frame} px, {work.completion_tokens} completion tokens), "
        f"activation checkpointing {'on' if work.gradient_checkpointing else 'off'}, "
        f"{'bf16' if work.bf16 else 'fp32'}, reference {'on' if work.reference else 'off'}",
        "",
        f"GiB per rank ({plans[0].gpus} GPU(s) of {gpu_memory_gb:g} GB, 90% usable)",
        f"{'strategy':<14}" + "".join(f"{name:>12}" for name in PART_ORDER) + f"{'total':>10}{'host':>8}  fits",
    ]
    for plan in plans:
        cells = "".join(f"{plan.parts.get(name, 0) / GIB:>12.1f}" for name in PART_ORDER)
        lines.append(
            f"{plan.strategy:<14}{cells}{plan.total / GIB:>10.1f}{plan.host / GIB:>8.1f}  "
            f"{'yes' if plan.fits(gpu_memory_gb) else 'no'}"
        )
    lines.append("")
    lines.append(recommendation(plans, gpu_memory_gb, work))
    return "\n".join(lines)


def recommendation(plans: list[MemoryPlan], gpu_memory_gb: float, work: Workload) -> str:
    for plan in plans:
        if plan.fits(gpu_memory_gb):
            strategy, _, offload = plan.strategy.partition("+")
            keys = f"train.strategy={strategy}" + (" train.cpu_offload=true" if offload else "")
            return f"fits: {keys}"
    hint = "" if work.gradient_checkpointing else "; try model.gradient_checkpointing=true"
    return f"fits: none of these on {plans[0].gpus} GPU(s) of {gpu_memory_gb:g} GB{hint}, fewer frames or a smaller G"
