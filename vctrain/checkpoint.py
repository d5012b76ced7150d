"""Checkpoints that resume exactly: weights, optimizer, scheduler, data position and every RNG (per rank).

Layout of `output_dir/checkpoints/step-NNNNNN/`: `model/` (save_pretrained weights + processor, so
`vctrain eval --checkpoint` and `from_pretrained` read it directly), `trainer_state.pt` (optimizer,
scheduler, step, data counter, config) and `rng-rank{R}.pt`. A checkpoint is written under a `.tmp` name
and renamed when complete, so an interrupted save is never resumed from.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch


@dataclass
class TrainState:
    """Where the run is: optimizer steps done and prompts consumed (the data order's counter)."""

    step: int = 0
    data_counter: int = 0


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    root = Path(output_dir) / "checkpoints"
    done = [p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp")]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def _barrier(world_size: int) -> None:
    if world_size > 1:
        torch.distributed.barrier()


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
) -> Path:
    """Write a checkpoint collectively (every rank must call it); returns its folder."""
    final = Path(output_dir) / "checkpoints" / f"step-{state.step:06d}"
    tmp = final.with_name(final.name + ".tmp")
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    _barrier(world_size)
    torch.save(rng_state(), tmp / f"rng-rank{rank}.pt")
    if rank == 0:
        model.save_pretrained(tmp / "model")
        processor.save_pretrained(tmp / "model")
        torch.save(
            {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "step": state.step,
                "data_counter": state.data_counter,
                "world_size": world_size,
                "config": config,
            },
            tmp / "trainer_state.pt",
        )
    _barrier(world_size)
    if rank == 0:
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    _barrier(world_size)
    return final


def load_trainer_state(ckpt: Path, optimizer: Any, scheduler: Any, *, rank: int = 0, world_size: int = 1) -> TrainState:
    """Restore optimizer, scheduler and this rank's RNG; the weights are loaded from `ckpt/model` beforehand."""
    blob = torch.load(ckpt / "trainer_state.pt", map_location="cpu", weights_only=False)
    if blob["world_size"] != world_size:
        raise ValueError(f"{ckpt}: saved with {blob['world_size']} rank(s), resuming with {world_size}")
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    set_rng_state(torch.load(ckpt / f"rng-rank{rank}.pt", map_location="cpu", weights_only=False))
    return TrainState(step=int(blob["step"]), data_counter=int(blob["data_counter"]))
