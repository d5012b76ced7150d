"""Memory per GPU from `vctrain plan` for Qwen2.5-VL-3B and 7B (built on the meta device from configs/models/),
DDP against FSDP and FSDP with CPU offload, on 1, 4 and 8 GPUs of 80 GB; prints the BENCHMARKS.md table.

    python bench/bench_plan.py [--checkpointing both]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vctrain.scale.plan import GIB, Workload, model_shape, plans_for

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpu-memory-gb", type=float, default=80.0)
    parser.add_argument("--group-size", type=int, default=8)
    args = parser.parse_args()
    print("| model | GPUs | act. ckpt | DDP GiB/rank | FSDP GiB/rank | FSDP+offload GiB/rank (host) | fits |")
    print("|---|---:|---|---:|---:|---:|---|")
    for name in ("qwen2.5-vl-3b", "qwen2.5-vl-7b"):
        shape = model_shape(ROOT / "configs" / "models" / name)
        for checkpointing in (True, False):
            work = Workload(args.group_size, 16, 128 * 28 * 28, 256, gradient_checkpointing=checkpointing)
            for gpus in (1, 4, 8):
                ddp, fsdp, offload = plans_for(shape, work, gpus)
                fits = [p.strategy for p in (ddp, fsdp, offload) if p.fits(args.gpu_memory_gb)]
                print(
                    f"| {name} | {gpus} | {'on' if checkpointing else 'off'} | {ddp.total / GIB:.1f} | "
                    f"{fsdp.total / GIB:.1f} | {offload.total / GIB:.1f} ({offload.host / GIB:.0f}) | "
                    f"{', '.join(fits) or 'none'} |"
                )


if __name__ == "__main__":
    main()
