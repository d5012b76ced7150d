"""Where does a GRPO/GSPO step spend its time? Rollout, reward, reference and policy passes, and tokens per second.

Runs the real trainer (`vctrain.rl.train.train`, the same loop `vctrain grpo` runs) on the demo pipeline's shards
(vtest.avi, rendered here unless `--shards` is given) for a few steps per mode and reads the per-step timers it
logs to metrics.jsonl. Modes: GRPO and GSPO, each with the k3 KL (beta 0.04, a frozen reference model scores
every rollout) and without it (beta 0, no reference pass). Baselines measured in the same run: GRPO without KL
for step time (so "KL x no-KL" is the price of the reference pass), and each step's rollout phase for its phases.

Models are randomly initialised Qwen2.5-VLs built from configs (no weights can be downloaded): the tiny test model
and a larger CPU-feasible one by default; `--model-config qwen2.5-vl-3b` (or a config.json path) times a model of
Qwen2.5-VL-3B's shape on a GPU (`--device cuda`) with the peak memory allocated. Responses are forced to the full
`max_new_tokens` (`min_new_tokens` in the model's generation config) so every mode generates the same token count.
On a CPU the trainer's timers are pointed at `time.process_time` with one torch thread (`--clock cpu`): on a
machine shared with other jobs, wall time measured whoever else was running; with `--device cuda`, wall time.

    python bench/bench_train.py [--steps 3] [--write]
    python bench/bench_train.py --model-config qwen2.5-vl-3b --device cuda --gradient-checkpointing --shards out/demo
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing

import vctrain.rl.train as train_module  # noqa: E402
from vctrain.config import load_config  # noqa: E402
from vctrain.rl.runlog import read_metrics  # noqa: E402
from vctrain.rl.train import train  # noqa: E402
from vctrain.tools.tiny import QWEN_SPECIAL_TOKENS, TinySizes, build_tiny_qwen25vl, build_tokenizer  # noqa: E402

PHASES = ("rollout", "reward", "reference", "policy")
MODES = (("grpo", 0.0), ("grpo", 0.04), ("gspo", 0.0), ("gspo", 0.04))  # (algorithm, beta); first is the baseline

# Qwen2.5-VL-3B-Instruct's shape in transformers' Qwen2_5_VLConfig names (text_config / vision_config).
QWEN25_VL_3B: dict[str, dict[str, Any]] = {
    "text_config": {
        "vocab_size": 151936,
        "hidden_size": 2048,
        "intermediate_size": 11008,
        "num_hidden_layers": 36,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "max_position_embeddings": 128000,
        "rms_norm_eps": 1e-6,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
    },
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 2048,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "tokens_per_second": 2,
    },
    "tie_word_embeddings": True,
}
PRESETS = {"qwen2.5-vl-3b": QWEN25_VL_3B}


@dataclass
class Workload:
    """What one step does; the same for every mode of a model so their times compare."""

    frames: int
    """Frames per sample fed to the model."""
    max_pixels: int
    """Pixel budget per frame (Qwen: 28x28 px per merged visual token)."""
    group_size: int
    """G responses per prompt."""
    new_tokens: int
    """Tokens generated per response (forced: no early end)."""
    prompts: int
    """Prompts per step."""


CPU_WORKLOAD = Workload(frames=8, max_pixels=112 * 112, group_size=4, new_tokens=32, prompts=2)
GPU_WORKLOAD = Workload(frames=16, max_pixels=128 * 28 * 28, group_size=8, new_tokens=256, prompts=2)


def render_demo(work: Path) -> Path:
    """The demo pipeline's shards (real HOG + ByteTrack on vtest.avi), rendered into `work`."""
    from vcprep.core.config import load_pipeline
    from vcprep.pipeline import run_pipeline

    cfg = load_pipeline(ROOT / "pipelines" / "demo.yaml")
    cfg.source.data_root = str(Path(os.environ.get("VCPREP_MEDIA", ROOT / ".cache" / "media")).resolve())
    out = work / "demo"
    summary = run_pipeline(cfg, out, progress=False)
    if summary.failed:
        raise RuntimeError(f"demo render failed: {summary.errors}")
    return out


def force_length(model_dir: Path, new_tokens: int) -> None:
    """Make `generate` run to `new_tokens` (end token masked until then) so all modes generate equal counts."""
    path = model_dir / "generation_config.json"
    gen = json.loads(path.read_text())
    gen["min_new_tokens"] = new_tokens
    path.write_text(json.dumps(gen, indent=2))


def build_from_config(out: Path, overrides: dict[str, Any], device: str) -> Path:
    """A randomly initialised Qwen2.5-VL of the given shape + the tiny processor (BPE tokenizer, Qwen tokens).

    The model's vocabulary may exceed the tokenizer's (151936 vs 400): sampled ids the tokenizer lacks decode to
    nothing, which changes no timing. Built on `device` (fast init on a GPU), saved in bf16 to halve the disk.
    """
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    from vctrain.tools.tiny import CHAT_TEMPLATE

    tokenizer = build_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    text = dict(overrides.get("text_config", {}))
    text["vocab_size"] = max(int(text.get("vocab_size", 0)), len(tokenizer))
    text |= {
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    extra = {k: v for k, v in overrides.items() if k not in ("text_config", "vision_config")}
    config = Qwen2_5_VLConfig(
        text_config=text,
        vision_config=dict(overrides.get("vision_config", {})),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        **extra,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.to(torch.bfloat16).save_pretrained(out)
    del model
    pixels = {"shortest_edge": 28 * 28, "longest_edge": 16384 * 28 * 28}
    Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=pixels),
        video_processor=Qwen2VLVideoProcessor(size=pixels),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    ).save_pretrained(out)
    return out


def parameter_count(model_dir: Path) -> int:
    """Parameters stored in the model folder (read from the safetensors headers, nothing loaded)."""
    from safetensors import safe_open

    total = 0
    for file in model_dir.glob("*.safetensors"):
        with safe_open(str(file), "pt") as fh:
            for key in fh.keys():  # noqa: SIM118 - safe_open handles are not iterable
                n = 1
                for dim in fh.get_slice(key).get_shape():
                    n *= dim
                total += n
    return total


def run_mode(
    model_dir: Path, shards: Path, out: Path, algorithm: str, beta: float, w: Workload, steps: int, args
) -> dict[str, float]:
    """`warmup + steps` trainer steps in one mode; medians over the measured steps of every logged timing."""
    cfg = {
        "model": {"path": str(model_dir), "gradient_checkpointing": args.gradient_checkpointing},
        "data": {"shards": [str(shards)], "variant": "id_tags", "max_frames": w.frames,
                 "max_pixels_per_frame": w.max_pixels, "min_pixels_per_frame": min(w.max_pixels, 4 * 28 * 28)},
        "rollout": {"group_size": w.group_size, "max_new_tokens": w.new_tokens},
        "loss": {"algorithm": algorithm, "beta": beta, "updates_per_rollout": 1},
        "rewards": {"format_stvg": 1.0, "tiou": 1.0, "id_match": 1.0},
        "steps": 10_000,  # the schedule length is irrelevant; stop_after_steps ends the run
        "stop_after_steps": args.warmup + steps,
        "checkpoint_on_stop": False,  # no checkpoint at the stop: the timings are all we keep
        "train": {"strategy": args.strategy},
        "save_every": 0,
        "prompts_per_step": w.prompts,
        "output_dir": str(out),
        "resume": "never",
        "device": args.device,
        "tensorboard": False,
        "progress": False,
    }  # fmt: skip
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    train(load_config(path))
    measured = read_metrics(out)[args.warmup :]
    keys = [f"time/{p}" for p in PHASES] + [
        "time/step",
        "response_length",
        "throughput/tokens_per_second",
        "throughput/generated_tokens_per_second",
        "memory/max_allocated_gib",
    ]
    result = {k: statistics.median(m.get(k, 0.0) for m in measured) for k in keys}
    result["memory/max_allocated_gib"] = max(m.get("memory/max_allocated_gib", 0.0) for m in measured)
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def wrap_paragraph(text: str, width: int = 110) -> str:
    """One paragraph re-wrapped (the intro's lines differ in length once its placeholders are filled)."""
    import textwrap

    return textwrap.fill(" ".join(text.split()), width) + "\n\n"


def phase_cell(r: dict[str, float], phase: str, beta: float) -> str:
    """`ms (share of the step, x this step's rollout)`; the reference pass is skipped without KL."""
    if phase == "reference" and beta == 0:
        return "skipped"
    t, step, roll = r[f"time/{phase}"], r["time/step"], r["time/rollout"]
    share = f"{100 * t / step:.1f}%"
    if phase == "other":
        return f"{1e3 * t:.1f} ({share})"
    return f"{1e3 * t:.1f} ({share})" if phase == "rollout" else f"{1e3 * t:.1f} ({share}, {t / roll:.3f}x)"


def table_for(name: str, params: int, w: Workload, results: dict[tuple[str, float], dict[str, float]]) -> str:
    base = results[MODES[0]]["time/step"]
    gpu = any(r["memory/max_allocated_gib"] > 0 for r in results.values())
    head = (
        f"**{name}** ({params / 1e6:.1f} M parameters; {w.prompts} prompts x G={w.group_size} responses x "
        f"{w.new_tokens} tokens, {w.frames} frames of <= {w.max_pixels} px)\n\n"
        "| algorithm | KL | step ms | x GRPO no-KL | rollout ms (share) | reward ms (share, x rollout) | "
        "reference ms (share, x rollout) | policy ms (share, x rollout) | other ms (share) | tokens/s all | "
        "generated tokens/s |" + (" peak GiB |" if gpu else "")
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if gpu else "")]
    for algorithm, beta in MODES:
        r = results[(algorithm, beta)]
        step = r["time/step"]
        r = r | {"time/other": step - sum(r[f"time/{p}"] for p in PHASES)}
        lines.append(
            f"| {algorithm.upper()} | {f'beta {beta}' if beta else 'off'} | {1e3 * step:.1f} | {step / base:.2f}x | "
            + " | ".join(phase_cell(r, p, beta) for p in (*PHASES, "other"))
            + f" | {r['throughput/tokens_per_second']:.0f} | {r['throughput/generated_tokens_per_second']:.0f} |"
            + (f" {r['memory/max_allocated_gib']:.1f} |" if gpu else "")
        )
    kl_step = results[("grpo", 0.04)]
    top = max(PHASES, key=lambda p: kl_step[f"time/{p}"])
    kl = {a: results[(a, 0.04)]["time/step"] / results[(a, 0.0)]["time/step"] for a in ("grpo", "gspo")}
    gspo = results[("gspo", 0.04)]["time/step"] / results[("grpo", 0.04)]["time/step"]
    notes = (
        f"\nReference pass (KL on vs off, same algorithm): GRPO {kl['grpo']:.2f}x, GSPO {kl['gspo']:.2f}x the "
        f"no-KL step. GSPO vs GRPO (KL on): {gspo:.2f}x. Largest phase of the GRPO + KL step: {top} "
        f"({100 * kl_step[f'time/{top}'] / kl_step['time/step']:.0f}%)."
    )
    return "\n".join(lines) + "\n" + notes


def main() -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3, help="measured steps per mode (medians reported)")
    ap.add_argument("--rounds", type=int, default=3, help="runs per mode, modes interleaved; the best is reported")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 resists other jobs' load)")
    clock_help = "`cpu`: CPU seconds of the process (default on CPU; other jobs cannot inflate them); `wall` (cuda)"
    ap.add_argument("--clock", default="", help=clock_help)
    ap.add_argument("--warmup", type=int, default=1, help="steps per mode run first and not measured")
    ap.add_argument("--shards", type=Path, default=None, help="demo shard folder (default: render it here)")
    ap.add_argument("--model-config", default="", help="`qwen2.5-vl-3b` or a JSON file of Qwen2_5_VLConfig kwargs "
                    "(text_config, vision_config, ...); default: the tiny and a small CPU model")  # fmt: skip
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--frames", type=int, default=0, help="override the workload's frames per sample")
    ap.add_argument("--group-size", type=int, default=0, help="override G")
    ap.add_argument("--new-tokens", type=int, default=0, help="override the tokens generated per response")
    ap.add_argument("--gradient-checkpointing", action="store_true", help="model.gradient_checkpointing=true")
    ap.add_argument("--strategy", default="ddp", help="train.strategy: ddp or fsdp (FSDP2, also on one GPU)")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    args.clock = args.clock or ("wall" if args.device == "cuda" else "cpu")
    if args.clock == "cpu":  # the trainer's phase timers and step clock read this module's `time.perf_counter`
        train_module.time = types.SimpleNamespace(perf_counter=time.process_time)

    base = GPU_WORKLOAD if args.model_config else CPU_WORKLOAD
    w = Workload(
        frames=args.frames or base.frames,
        max_pixels=base.max_pixels,
        group_size=args.group_size or base.group_size,
        new_tokens=args.new_tokens or base.new_tokens,
        prompts=base.prompts,
    )
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        shards = args.shards.resolve() if args.shards else render_demo(work)
        print(f"shards: {shards} ({time.perf_counter() - t0:.1f} s)", flush=True)
        models: list[tuple[str, Path]] = []
        if args.model_config:
            spec = PRESETS.get(args.model_config) or json.loads(Path(args.model_config).read_text())
            name = args.model_config if args.model_config in PRESETS else Path(args.model_config).stem
            models.append((f"{name}-shaped, random weights", build_from_config(work / "big", spec, args.device)))
        else:
            models.append(("tiny Qwen2.5-VL (vctrain/tools/tiny.py defaults)", build_tiny_qwen25vl(work / "tiny")))
            small = TinySizes(hidden_size=256, num_hidden_layers=4, num_attention_heads=8, vision_depth=4,
                              vision_hidden_size=128)  # fmt: skip
            models.append(("small Qwen2.5-VL (hidden 256, 4 layers, vision 128 x 4)",
                           build_tiny_qwen25vl(work / "small", sizes=small)))  # fmt: skip
        sections = []
        for name, model_dir in models:
            force_length(model_dir, w.new_tokens)
            rounds: dict[tuple[str, float], list[dict[str, float]]] = {mode: [] for mode in MODES}
            for k in range(args.rounds):
                for algorithm, beta in MODES if k % 2 == 0 else MODES[::-1]:  # alternate to spread slow spells
                    t0 = time.perf_counter()
                    run = work / f"{model_dir.name}-{algorithm}-{beta}-{k}"
                    r = run_mode(model_dir, shards, run, algorithm, beta, w, args.steps, args)
                    rounds[(algorithm, beta)].append(r)
                    print(f"{name} {algorithm} beta={beta} round {k}: {time.perf_counter() - t0:.1f} s, "
                          f"step {r['time/step']:.3f} s", flush=True)  # fmt: skip
            best = {mode: min(rs, key=lambda r: r["time/step"]) for mode, rs in rounds.items()}
            sections.append(table_for(name, parameter_count(model_dir), w, best))
    device = torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    body = "\n\n".join(sections)
    print(body)
    if args.write:
        from report import write_section

        title = "Training step" if not args.model_config else "Training step on a GPU"
        write_section(
            title,
            wrap_paragraph(
                SECTION_INTRO.format(
                    device=device,
                    threads=args.threads,
                    steps=args.steps,
                    warmup=args.warmup,
                    rounds=args.rounds,
                    clock=CLOCKS[args.clock],
                )
            )
            + body
            + OUTRO,
        )
    return body


CLOCKS = {
    "cpu": "timed in CPU seconds of the process (the trainer's own timers read `time.process_time`; with one "
    "thread this equals wall time on an idle machine, and other jobs on this shared machine cannot inflate it)",
    "wall": "timed in wall-clock seconds (the trainer's own timers, GPU synchronised)",
}
SECTION_INTRO = """Time per GRPO/GSPO step of the real trainer (`vctrain.rl.train.train`) on the demo shards
(`id_tags` variant of the vtest query), split into its timed phases, on {device}, {threads} torch thread(s),
{clock}. Per mode: the median of {steps} steps after {warmup} warm-up step(s), best of {rounds} runs with the
modes interleaved. Produced by `python bench/bench_train.py --write`. Baselines from the same run: the GRPO
no-KL step (column "x GRPO no-KL") and each step's own rollout phase ("x rollout"). Phases: rollout =
`generate` of G sampled responses per prompt; reward = the configured rewards (`format_stvg`, `tiou`,
`id_match`); reference = log-probs of the frozen reference model (only with KL, beta 0.04); policy = forward +
backward + optimizer step; other = the rest of the step (reading the shard row, decoding its JPEGs, the
processor, advantages, logging). Tokens/s all = (prompt + generated) x G over the step; generated tokens/s =
generated tokens over the rollout phase. Models have random weights built from configs; every response runs to
the full token count.

"""
OUTRO = """

On a GPU, `python bench/bench_train.py --model-config qwen2.5-vl-3b --device cuda --gradient-checkpointing
--shards out/demo --write` times a Qwen2.5-VL-3B-shaped model (3.75 B parameters: hidden 2048, 36 layers, 16
heads, 2 KV heads, intermediate 11008, vision depth 32; random weights) the same way with G=8 x 256 tokens and
16 frames of <= 128x28x28 px, in wall-clock time, and adds its peak GPU memory (section "Training step on a
GPU"). The fp32 policy with AdamW takes about 60 GiB before activations and the bf16 reference 7.5 GiB, hence
gradient checkpointing on an 80 GiB GPU.
"""


if __name__ == "__main__":
    main()
