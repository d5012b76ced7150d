"""Checkpoints that resume exactly: weights, optimizer, scheduler, data position and every RNG (per rank).

Layout of `output_dir/checkpoints/step-NNNNNN/`:
- `model/`: a plain Hugging Face folder (weights gathered from every shard + processor), so `vctrain eval
  --checkpoint` and `from_pretrained` read it directly;
- `trainer_state.json`: step, data counter, world size, strategy, scheduler state and the resolved config;
- `optimizer.pt` (ddp: AdamW state, written by rank 0) or `dcp/` (fsdp: the sharded policy weights and AdamW
  state written by every rank in parallel with `torch.distributed.checkpoint`, resumed on the same number of ranks);
- `rng-rank{R}.pt`: each rank's Python, NumPy and torch random states.

Nothing is unpickled on resume: `.pt` files load with `weights_only=True` (tensors and plain containers only) and
DCP's metadata through an allow-list of its own classes, so a crafted file in a run folder is refused, not run.
A checkpoint is written under a `.tmp` name and renamed when complete, so an interrupted save is never resumed from.
"""

from __future__ import annotations

import io
import json
import pickle
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vcconfig import ConfigError


@dataclass
class TrainState:
    """Where the run is: optimizer steps done and prompts consumed (the data order's counter)."""

    step: int = 0
    data_counter: int = 0


class UnsafeCheckpointError(ValueError):
    """A checkpoint file holds something other than plain tensors and containers (possibly code): not loaded."""


def rng_state() -> dict[str, Any]:
    """Random states as tensors and plain values only (loadable with weights_only=True)."""
    _kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys).astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def safe_torch_load(path: Path) -> Any:
    """torch.load that only accepts tensors and plain containers; anything else is a clear error, never executed."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeCheckpointError(
            f"{path}: refused to load, it holds objects other than tensors and plain values (a pickle payload could "
            f"run code); vctrain checkpoints never contain such objects. Detail: {str(exc).splitlines()[0]}"
        ) from exc


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    root = Path(output_dir) / "checkpoints"
    done = [p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp")]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def _barrier(world_size: int) -> None:
    if world_size > 1:
        torch.distributed.barrier()


def full_model_state(model: torch.nn.Module, sharded: bool) -> dict[str, torch.Tensor] | None:
    """Every parameter in full on rank 0 (gathered from the shards under FSDP, on the CPU); collective."""
    if not sharded:
        return None  # save_pretrained reads the module itself
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))  # type: ignore[return-value]


def save_checkpoint(
    output_dir: str | Path,
    model: Any,
    processor: Any,
    optimizer: Any,
    scheduler: Any,
    state: TrainState,
    config: dict,
    *,
    rank: int = 0,
    world_size: int = 1,
    sharded: bool = False,
) -> Path:
    """Write a checkpoint collectively (every rank must call it); returns its folder."""
    final = Path(output_dir) / "checkpoints" / f"step-{state.step:06d}"
    tmp = final.with_name(final.name + ".tmp")
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    _barrier(world_size)
    torch.save(rng_state(), tmp / f"rng-rank{rank}.pt")
    if sharded:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict

        model_sd, optim_sd = get_state_dict(model, optimizer)
        dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(tmp / "dcp"))
    full = full_model_state(model, sharded)
    if rank == 0:
        model.save_pretrained(tmp / "model", state_dict=full)
        processor.save_pretrained(tmp / "model")
        if not sharded:
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        meta = {
            "step": state.step,
            "data_counter": state.data_counter,
            "world_size": world_size,
            "strategy": "fsdp" if sharded else "ddp",
            "scheduler": scheduler.state_dict(),
            "config": config,
        }
        (tmp / "trainer_state.json").write_text(json.dumps(meta, indent=1))
    _barrier(world_size)
    if rank == 0:
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    _barrier(world_size)
    return final


def read_trainer_state(ckpt: Path) -> dict[str, Any]:
    """trainer_state.json of a checkpoint (plain JSON: nothing in it can run)."""
    path = ckpt / "trainer_state.json"
    if not path.is_file():
        old = ""
        if (ckpt / "trainer_state.pt").exists():
            old = " (a trainer_state.pt from an older vctrain is a pickle and is never loaded)"
        raise FileNotFoundError(f"{ckpt}: no trainer_state.json{old}; cannot resume from it")
    return json.loads(path.read_text())


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("torch.serialization", "_get_layout"),  # torch.layout pickles as _get_layout("torch.strided")
    ("pathlib", "PosixPath"),  # the checkpoint id DCP records
    ("pathlib", "WindowsPath"),
}


class _SafeMetadataUnpickler(pickle.Unpickler):
    """DCP's `.metadata` is a pickle: accept only its own dataclasses and torch dtypes/sizes, nothing callable."""

    def find_class(self, module: str, name: str) -> Any:
        obj = super().find_class(module, name)
        if module.startswith("torch.distributed.checkpoint") and isinstance(obj, type):
            return obj
        if module == "torch" and (name == "Size" or isinstance(obj, (torch.dtype, torch.memory_format, torch.layout))):
            return obj
        if (module, name) in _ALLOWED_GLOBALS:
            return obj
        raise UnsafeCheckpointError(f"DCP metadata refers to {module}.{name}, which a checkpoint never holds")


def _safe_reader(path: Path):
    from torch.distributed.checkpoint import FileSystemReader

    class SafeReader(FileSystemReader):
        def read_metadata(self, *args: Any, **kwargs: Any):
            rank = kwargs.get("rank")
            blob = Path(self._get_metadata_path(rank)).read_bytes()
            try:
                metadata = _SafeMetadataUnpickler(io.BytesIO(blob)).load()
            except UnsafeCheckpointError as exc:
                raise UnsafeCheckpointError(f"{path}: refused to load: {exc}") from exc
            from torch.distributed.checkpoint.metadata import StorageMeta

            if getattr(metadata, "storage_meta", None) is None:
                metadata.storage_meta = StorageMeta()
            metadata.storage_meta.load_id = self.load_id
            return metadata

    return SafeReader(str(path))


def load_trainer_state(
    ckpt: Path, model: Any, optimizer: Any, scheduler: Any, *, rank: int = 0, world_size: int = 1, sharded: bool = False
) -> TrainState:
    """Restore optimizer, scheduler and this rank's RNG (and, under FSDP, this rank's weight shards; under DDP the
    weights were loaded from `ckpt/model` beforehand). Collective under FSDP."""
    meta = read_trainer_state(ckpt)
    if meta["world_size"] != world_size:
        raise ConfigError(f"{ckpt}: saved with {meta['world_size']} rank(s), resuming with {world_size}")
    strategy = "fsdp" if sharded else "ddp"
    if meta["strategy"] != strategy:
        raise ConfigError(f"{ckpt}: saved with train.strategy={meta['strategy']}, resuming with {strategy}")
    rng = safe_torch_load(ckpt / f"rng-rank{rank}.pt")
    if sharded:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

        reader = _safe_reader(ckpt / "dcp")
        reader.read_metadata()  # refuses a crafted .metadata here, with its own error (DCP would retry and blur it)
        model_sd, optim_sd = get_state_dict(model, optimizer)
        blob = {"model": model_sd, "optim": optim_sd}
        dcp.load(blob, storage_reader=reader)
        set_state_dict(model, optimizer, model_state_dict=blob["model"],  # type: ignore[arg-type]
                       optim_state_dict=blob["optim"])  # type: ignore[arg-type]
    else:
        optimizer.load_state_dict(safe_torch_load(ckpt / "optimizer.pt"))
    scheduler.load_state_dict(meta["scheduler"])
    set_rng_state(rng)
    return TrainState(step=int(meta["step"]), data_counter=int(meta["data_counter"]))
