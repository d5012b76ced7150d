"""Memory per GPU from `vctrain plan` for Qwen2.5-VL-3B and 7B (built on the meta device from configs/models/),
DDP against FSDP and FSDP with CPU offload, on 1, 4 and 8 GPUs of 80 GB; prints the BENCHMARKS.md table.

    python bench/bench_plan.py [--write]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from report import write_section

from vctrain.scale.plan import GIB, Workload, model_shape, plans_for

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpu-memory-gb", type=float, default=80.0)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    lines = ["| model | GPUs | act. ckpt | DDP GiB/rank | FSDP GiB/rank | FSDP+offload GiB/rank (host) | fits |",
             "|---|---:|---|---:|---:|---:|---|"]
    for name in ("qwen2.5-vl-3b", "qwen2.5-vl-7b"):
        shape = model_shape(ROOT / "configs" / "models" / name)
        for checkpointing in (True, False):
            work = Workload(args.group_size, 16, 128 * 28 * 28, 256, gradient_checkpointing=checkpointing)
            for gpus in (1, 4, 8):
                ddp, fsdp, offload = plans_for(shape, work, gpus)
                fits = [p.strategy for p in (ddp, fsdp, offload) if p.fits(args.gpu_memory_gb)]
                lines.append(
                    f"| {name} | {gpus} | {'on' if checkpointing else 'off'} | {ddp.total / GIB:.1f} | "
                    f"{fsdp.total / GIB:.1f} | {offload.total / GIB:.1f} ({offload.host / GIB:.0f}) | "
                    f"{', '.join(fits) or 'none'} |"
                )
    print("\n".join(lines))
    if args.write:
        write_section("Memory plan", INTRO.format(gb=args.gpu_memory_gb, g=args.group_size) + "\n".join(lines) + "\n")


INTRO = """`vctrain plan CONFIG --gpus N --gpu-memory-gb M` per rank, for Qwen2.5-VL-3B (3.75 B parameters) and 7B
(8.29 B), each built on the meta device from its config.json in `configs/models/` (no weights). Workload of the
papers: 16 frames of 128·28·28 px (4,096 vision patches, 1,024 video tokens), 200 prompt text tokens, G = {g}
sequences of 256 completion tokens in one micro-batch, bf16 compute, fp32 master weights and AdamW, KL reference
in bf16. "fits" = total within 90% of a card of {gb:.0f} GB. Host column: GiB per rank kept in CPU memory by offload.
Arithmetic on exact parameter counts: no GPU is used.

"""


if __name__ == "__main__":
    main()
