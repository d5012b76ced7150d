"""Where the trainer meets torch.distributed: joining the torchrun job, and wrapping the policy and the frozen
reference for the configured strategy (DDP, or FSDP2 `fully_shard` per decoder layer and vision block).

Why apart from the loop: the loop calls `wrapped(...)`, `no_grad_sync(...)`, `clip_grad_norm(...)` and never
asks which strategy runs; the two strategies differ only here and in how checkpoints are written
(vctrain/scale/checkpoint.py).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch

from vctrain.config import ParallelConfig
from vctrain.policy.model import resolve_device

STRATEGIES = ("ddp", "fsdp")
VISION_TOWERS = ("visual", "vision_tower", "vision_model")  # attribute names of the vision encoder in HF VLMs


@dataclass
class Dist:
    """This process's place in the job (world_size 1 without torchrun) and the strategy it trains with."""

    rank: int
    world_size: int
    device: torch.device
    strategy: str = "ddp"

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def sharded(self) -> bool:
        """FSDP: parameters are DTensors and every rank must take part in every forward pass of the model."""
        return self.strategy == "fsdp"


def setup_distributed(device_name: str, parallel: ParallelConfig | None = None) -> Dist:
    """Join the torchrun job if there is one (nccl on GPUs, gloo on CPU)."""
    parallel = parallel or ParallelConfig()
    if parallel.strategy not in STRATEGIES:
        raise ValueError(f"train.strategy must be one of {STRATEGIES}, got {parallel.strategy!r}")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = resolve_device(device_name, int(os.environ.get("LOCAL_RANK", "0")))
    if (world > 1 or parallel.strategy == "fsdp") and not torch.distributed.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if world == 1:  # fsdp on one process (CPU offload on one GPU): a group of one
            os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
            os.environ.setdefault("MASTER_PORT", "29599")
            os.environ.setdefault("RANK", "0")
            os.environ.setdefault("WORLD_SIZE", "1")
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, device, parallel.strategy)


def shard_units(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The modules FSDP shards one by one: the model's own `_no_split_modules` classes (for Qwen2.5-VL the text
    decoder layers and the vision blocks), i.e. the units Hugging Face already treats as indivisible."""
    names = set(getattr(model, "_no_split_modules", None) or [])
    units = [m for m in model.modules() if type(m).__name__ in names]
    if not units:
        raise ValueError(f"{type(model).__name__}: no `_no_split_modules` blocks found to shard with FSDP")
    return units


def fully_shard_model(model: torch.nn.Module, dist: Dist, parallel: ParallelConfig, bf16: bool) -> torch.nn.Module:
    """FSDP2 in place: each unit, the vision tower, then the root (embeddings, norm, lm_head). Parameters move to
    this rank's device as they are sharded, so the full model never sits on a GPU.

    With several ranks only rank 0 holds real weights (the others built the model on the meta device, see
    `load_model(meta=True)`): rank 0 broadcasts each shard to its owner, and its buffers (rotary frequencies) to all.

    bf16: weights gathered in bf16 for compute, gradients reduced in fp32, fp32 master shards (what autocast gives
    under DDP)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, OffloadPolicy, fully_shard

    mesh = init_device_mesh(dist.device.type, (dist.world_size,))
    kwargs: dict[str, Any] = {
        "mesh": mesh,
        "reshard_after_forward": parallel.reshard_after_forward,
        "mp_policy": MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
        if bf16
        else MixedPrecisionPolicy(),
        "offload_policy": CPUOffloadPolicy() if parallel.cpu_offload else OffloadPolicy(),
    }
    # rank 0's full weights as plain tensors (detached aliases: fully_shard turns the parameters themselves into
    # DTensors), before sharding
    full = {k: v.detach() for k, v in model.state_dict().items()} if from_rank0(dist) and dist.main else {}
    for unit in shard_units(model):
        fully_shard(unit, **kwargs)
    for name, module in model.named_modules():
        # generate() runs the vision encoder outside the model's forward (transformers >= 5): its own unit, so its
        # patch embedding and merger are gathered by its own hook
        if name.rsplit(".", 1)[-1] in VISION_TOWERS:
            fully_shard(module, **kwargs)
    fully_shard(model, **kwargs)
    if from_rank0(dist):
        if not dist.main:
            model.to_empty(device=dist.device)
        options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
        set_model_state_dict(model, full, options=options)
        del full
        for buffer in model.buffers():
            torch.distributed.broadcast(buffer, src=0)
    with torch.no_grad():  # FSDP initialises from the root's first forward; generate() may call the encoder first
        model(input_ids=torch.zeros(1, 1, dtype=torch.long, device=dist.device), use_cache=False)
    return model


def from_rank0(dist: Dist) -> bool:
    """FSDP over several ranks: rank 0 reads the weights, the others build the model on the meta device."""
    return dist.sharded and dist.world_size > 1


def wrap_policy(model: torch.nn.Module, dist: Dist, parallel: ParallelConfig, bf16: bool) -> torch.nn.Module:
    """The module the loss is computed with: DDP around the model, the model itself sharded, or the model alone."""
    if dist.sharded:
        return fully_shard_model(model, dist, parallel, bf16)
    model.to(dist.device)
    if dist.world_size > 1:
        return torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[dist.device.index] if dist.device.type == "cuda" else None
        )
    return model


def wrap_reference(model: torch.nn.Module, dist: Dist, parallel: ParallelConfig) -> torch.nn.Module:
    """The frozen reference: sharded the same way as the policy under FSDP (its bf16 weights split N ways)."""
    if dist.sharded:
        return fully_shard_model(model, dist, parallel, bf16=False)
    return model.to(dist.device)


@contextlib.contextmanager
def no_grad_sync(wrapped: torch.nn.Module, dist: Dist, skip: bool = True):
    """Accumulate this micro-batch's gradients locally (no all-reduce / reduce-scatter) when `skip`."""
    if not skip or dist.world_size == 1:
        yield
    elif dist.sharded:
        wrapped.set_requires_gradient_sync(False)  # type: ignore[operator]  # an FSDPModule's method
        try:
            yield
        finally:
            wrapped.set_requires_gradient_sync(True)  # type: ignore[operator]
    else:
        with wrapped.no_sync():  # type: ignore[operator]  # DistributedDataParallel's
            yield


def clip_grad_norm(model: torch.nn.Module, max_norm: float) -> torch.Tensor:
    """Global gradient norm (over all shards under FSDP) clipped to max_norm; returns the norm before clipping."""
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    return norm.full_tensor() if hasattr(norm, "full_tensor") else norm


def any_rank(flag: bool, dist: Dist) -> bool:
    """True on every rank when `flag` is true on one of them (keeps FSDP's collective forward passes in step)."""
    if dist.world_size == 1:
        return flag
    t = torch.tensor([int(flag)], device=dist.device if dist.device.type == "cuda" else "cpu")
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item())


# --- forward passes only some ranks run (a hard sample's prompted rollout, a distillation pass) ---------------------
# Under FSDP every forward pass is collective: a rank that runs such a pass announces it, and every rank that did not
# asks once whether another one did, then joins with a dummy pass. Without sharding both do nothing, so the RL loop
# calls them unconditionally and never asks which strategy runs. Each announce pairs with one ask on the other ranks.


def announce_forward(dist: Dist) -> None:
    """Before a forward pass only this rank may run: tell the other ranks (no-op unless sharded)."""
    if dist.sharded:
        any_rank(True, dist)


def other_rank_forwards(dist: Dist) -> bool:
    """On a rank that skipped the optional pass: True when another rank announced one (join it with a dummy pass)."""
    return dist.sharded and any_rank(False, dist)
