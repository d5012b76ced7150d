"""Does VisionCoach's adaptive prompting + self-distillation raise the raw-input reward? Three arms, equal budgets.

Arms (tiny random Qwen2.5-VL, CPU, the same seeds, data order and hyper-parameters):
- `plain`: GRPO on the raw input;
- `prompt`: the adaptive step with alpha = 0: hard samples are rolled out again on their prompted variant (metrics
  only); the RL group is the raw group, so this arm's updates are plain GRPO's and any gap to `plain` is the
  noise of a different random stream (the extra rollouts draw from it);
- `prompt+sd`: the same plus alpha * L_SD on the kept prompted responses (VisionCoach, conditioned on the prompted
  input); `prompt+sd(raw)`: the same with the targets scored on the raw input (`--no-raw-arm` skips it).

Equal budget means the same number of optimizer steps, prompts per step and raw rollouts per prompt (G); the
adaptive arms spend up to G extra rollouts per hard sample on top, reported as extra rollouts and wall time.

Reward: the fraction of the four format tags present (the tiny tokenizer has them as single tokens, so a random
policy finds some and GRPO learns it, as in tests/test_vctrain_train.py); STVG answer rewards stay at zero for a
random model. The hard threshold is on that scale. Data: `pipelines/vtest_walkers.yaml` if present (rendered
once into .cache/exp_adaptive), else the demo pipeline; every variant the trainer needs is in the shards.

    python bench/exp_adaptive.py [--steps 60] [--seeds 0 1 2 3 4 5 6 7] [--shards DIR] [--write]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from vctrain.config import load_config
from vctrain.rl.runlog import read_metrics
from vctrain.rl.train import train
from vctrain.tools.tiny import build_tiny_qwen25vl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_section  # noqa: E402

TAGS = ("<think>", "</think>", "<answer>", "</answer>")
ARMS = {
    "plain": None,
    "prompt": {"alpha": 0.0},
    "prompt+sd": {"alpha": 0.1, "condition_on": "prompted"},
}
RAW_ARM = {"prompt+sd(raw)": {"alpha": 0.1, "condition_on": "raw"}}


def tag_presence(texts: list[str], gts: list, progress: float):
    """Fraction of the format tags present in each response [N] (learnable by a random tiny policy)."""
    score = np.array([sum(tag in t for tag in TAGS) / len(TAGS) for t in texts])
    return score, {"tag_presence": score}


def shards_for(args: argparse.Namespace) -> tuple[Path, str]:
    """The shard folder to train on: given, or a pipeline rendered once into .cache/exp_adaptive."""
    if args.shards:
        return args.shards.resolve(), args.shards.name
    walkers = ROOT / "pipelines" / "vtest_walkers.yaml"
    pipeline = walkers if walkers.is_file() else ROOT / "pipelines" / "demo.yaml"
    out = ROOT / ".cache" / "exp_adaptive" / pipeline.stem
    if not (out / "meta" / "info.json").is_file():
        cmd = [str(Path(sys.executable).parent / "vcprep"), "render", str(pipeline), "--out", str(out)]
        subprocess.run(cmd, check=True, cwd=ROOT)
    return out, f"pipelines/{pipeline.name}"


def run_arm(work: Path, model: Path, shards: Path, arm: str, seed: int, args: argparse.Namespace) -> dict:
    """One training run; returns its per-step metrics and wall time."""
    out = work / f"{arm}-s{seed}"
    cfg: dict = {
        "model": {"path": str(model)},
        "data": {"shards": [str(shards)], "variant": "raw", "max_frames": 4,
                 "max_pixels_per_frame": 56 * 56, "min_pixels_per_frame": 28 * 28},
        "rollout": {"group_size": args.group_size, "max_new_tokens": 16},
        "loss": {"beta": 0.0},
        "optim": {"lr": 1.0e-2},
        "steps": args.steps, "prompts_per_step": args.prompts, "save_every": 0, "seed": seed,
        "output_dir": str(out), "progress": False, "tensorboard": False, "resume": "never",
    }  # fmt: skip
    knobs = {**ARMS, **RAW_ARM}[arm]
    if knobs is not None:
        cfg["adaptive"] = {"enabled": True, "threshold": args.threshold, "variant_source": args.variant_source,
                           "top_n": 2, "answer_rewards": ["tag_presence"], **knobs}  # fmt: skip
    path = work / f"{arm}-s{seed}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    t0 = time.perf_counter()
    train(load_config(path), reward_fn=tag_presence)
    metrics = read_metrics(out)
    # the training loop's own time (sum of step times): model loading is not the method's (a warm-up run comes first)
    return {"metrics": metrics, "seconds": sum(m["time/step"] for m in metrics), "wall": time.perf_counter() - t0}


def smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (the first points average what exists so far)."""
    c = np.cumsum(np.insert(x, 0, 0.0))
    n = np.minimum(np.arange(1, len(x) + 1), window)
    return (c[1:] - c[np.arange(1, len(x) + 1) - n]) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    ap.add_argument("--prompts", type=int, default=1, help="prompts per step")
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--threshold", type=float, default=0.5, help="hard if the raw group's mean tag presence < this")
    ap.add_argument("--variant-source", default="fixed:id_tags")
    ap.add_argument("--no-raw-arm", action="store_true", help="skip the distillation conditioned on the raw input")
    ap.add_argument("--shards", type=Path, default=None)
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md and bench/results/adaptive_arms.png")
    args = ap.parse_args()
    # one thread: the model is tiny, and on a shared 2-core machine two OpenMP threads stall each other under load
    torch.set_num_threads(1)

    shards, data_name = shards_for(args)
    arms = list(ARMS) + ([] if args.no_raw_arm else list(RAW_ARM))
    results: dict[str, list[dict]] = {arm: [] for arm in arms}
    with tempfile.TemporaryDirectory(prefix="exp_adaptive_") as tmp:
        work = Path(tmp)
        model = build_tiny_qwen25vl(work / "tiny", seed=0)
        run_arm(work, model, shards, "prompt+sd", 10_000, argparse.Namespace(**{**vars(args), "steps": 2}))  # warm-up
        for seed in args.seeds:
            for arm in arms:
                results[arm].append(run_arm(work, model, shards, arm, seed, args))
                r = results[arm][-1]
                print(f"{arm} seed {seed}: loop {r['seconds']:.0f} s, wall {r['wall']:.0f} s", flush=True)

    curves = {a: np.array([[m["reward/tag_presence"] for m in r["metrics"]] for r in rs]) for a, rs in results.items()}
    tail = max(1, args.steps // 4)
    final = {a: c[:, -tail:].mean(axis=1) for a, c in curves.items()}  # [seeds]
    mean = {a: c.mean(axis=1) for a, c in curves.items()}  # [seeds]
    secs = {a: np.array([r["seconds"] for r in rs]) for a, rs in results.items()}
    extra_keys = ("time/adaptive_rollout", "time/adaptive_reward", "time/distill")
    extra_s = {
        a: np.array([sum(m.get(k, 0.0) for m in r["metrics"] for k in extra_keys) for r in rs])
        for a, rs in results.items()
    }

    def per_step(arm: str, key: str) -> float:
        vals = [m.get(key, 0.0) for r in results[arm] for m in r["metrics"]]
        return float(np.mean(vals)) if vals else 0.0

    def x_plain(values: dict[str, np.ndarray], arm: str) -> str:
        return f"{values[arm].mean() / max(1e-12, values['plain'].mean()):.2f}x"

    rows = [
        f"| arm | final raw reward (last {tail} steps) | x plain | mean raw reward | x plain | hard share "
        "| kept / step | L_SD | extra rollouts / step | loop s | x plain | of which prompted rollouts + L_SD |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm in arms:
        hard = per_step(arm, "adaptive/hard_share") if arm != "plain" else 0.0
        extra = hard * args.prompts * args.group_size
        l_sd = [m["adaptive/l_sd"] for r in results[arm] for m in r["metrics"] if "adaptive/l_sd" in m]
        rows.append(
            f"| {arm} | {final[arm].mean():.3f} ± {final[arm].std():.3f} | {x_plain(final, arm)} "
            f"| {mean[arm].mean():.3f} ± {mean[arm].std():.3f} | {x_plain(mean, arm)} | {hard:.2f} "
            f"| {per_step(arm, 'adaptive/candidates_kept'):.2f} | {np.mean(l_sd) if l_sd else float('nan'):.2f} "
            f"| {extra:.1f} | {secs[arm].mean():.0f} | {secs[arm].mean() / secs['plain'].mean():.2f}x "
            f"| {extra_s[arm].mean():.0f} s ({extra_s[arm].sum() / secs[arm].sum():.0%}) |"
        )
    gains = {
        k: per_step("prompt+sd", k) for k in {k for r in results["prompt+sd"] for m in r["metrics"] for k in m}
        if k.startswith("adaptive/gain/")
    }  # fmt: skip
    gain_text = ", ".join(f"`{k.split('/')[-1]}` {v:+.3f}" for k, v in sorted(gains.items())) or "none"

    # the honest reading: a gap counts only if it exceeds two standard errors of the paired (same seed, same data
    # order) differences and the noise arm's gap to plain GRPO
    def verdict_of(arm: str, values: dict[str, np.ndarray], what: str) -> str:
        paired = values[arm] - values["plain"]  # [seeds]
        delta = float(paired.mean())
        se = float(paired.std(ddof=1) / np.sqrt(len(paired))) if len(paired) > 1 else float("inf")
        noise = float(np.abs(values["prompt"] - values["plain"]).mean())
        higher = int((paired > 0).sum())
        detail = (
            f"`{arm}` {what} {delta:+.3f} from plain GRPO (per seed {', '.join(f'{d:+.3f}' for d in paired)}; "
            f"higher on {higher} of {len(paired)} seeds; 2 standard errors {2 * se:.3f}; the noise arm's mean gap "
            f"{noise:.3f})"
        )
        if abs(delta) > 2 * se and abs(delta) > noise:
            return f"{detail}: a consistent {'gain' if delta > 0 else 'loss'} at this scale"
        return f"{detail}: not distinguishable from seed noise with {len(paired)} seeds"

    verdict = "\n".join(
        f"- {verdict_of(a, v, what)}."
        for a in arms
        if a not in ("plain", "prompt")
        for v, what in ((final, "final raw reward"), (mean, "mean raw reward over the run"))
    )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps = np.arange(1, args.steps + 1)
    for arm in arms:
        c = np.array([smooth(row, 5) for row in curves[arm]])
        ax.plot(steps, c.mean(axis=0), label=f"{arm} (final {final[arm].mean():.2f})")
        se = c.std(axis=0, ddof=1) / np.sqrt(len(c)) if len(c) > 1 else np.zeros(len(steps))
        ax.fill_between(steps, c.mean(axis=0) - se, c.mean(axis=0) + se, alpha=0.15)
    ax.axhline(args.threshold, color="grey", ls=":", lw=1, label=f"hard threshold {args.threshold}")
    ax.set(xlabel="optimizer step", ylabel="raw-input reward (tag presence, 5-step mean)",
           title=f"Adaptive prompting arms, tiny Qwen2.5-VL, {len(args.seeds)} seeds (band: ±1 s.e.)")  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()

    body = f"""Produced by `python bench/exp_adaptive.py --write` (CPU, tiny random Qwen2.5-VL, {data_name}).

- Arms share seeds {args.seeds}, data order and hyper-parameters: GRPO, G={args.group_size}, {args.prompts} prompt(s)
  per step, lr 1e-2, no KL. `prompt`: adaptive step with alpha 0 (prompted rollouts, no loss); `prompt+sd`: alpha 0.1,
  targets conditioned on the prompted input (VisionCoach's code); `prompt+sd(raw)`: conditioned on the raw input.
- Equal budget: the same {args.steps} optimizer steps, prompts and raw rollouts per step. The adaptive arms spend extra
  rollouts on hard samples (column "extra rollouts"); "loop s" is the training loop's time (sum of step times),
  which also depends on how long the learned responses are; the last column is the adaptive step's own share.
- Reward: fraction of the four format tags present (learnable by a random policy; answer rewards stay 0 for it).
  Hard: raw group mean < {args.threshold}; variant `{args.variant_source}` (pre-rendered in the shards); top N = 2,
  ranked by that reward.
- "raw reward": the raw-input group's mean reward per step, mean ± std over seeds; "final": the last {tail} steps.
  Baseline: plain GRPO in the same run. Plot (5-step means, averaged over seeds, band ±1 standard error):
  `bench/results/adaptive_arms.png`.

{chr(10).join(rows)}

Reward gain of prompted over raw rollouts (prompt+sd arm, mean per step): {gain_text}.

Outcome (a gap counts when it exceeds both 2 standard errors of the paired per-seed gaps, same seed and data
order, and the noise arm's mean gap to plain GRPO):

{verdict}

The `prompt` arm's updates follow plain GRPO's rule (alpha 0; the RL group is the raw group),
so its gap to `plain` only reflects a different random stream (its extra rollouts draw from it): the yardstick for
the other gaps. A tiny random model cannot read the prompts' pixels or hints, so this tests the mechanics
(distilling the responses that beat the raw mean, a rejection-sampling signal on top of GRPO), not VisionCoach's
claim that visual prompts help a real model.
"""
    print(body)
    if args.write:
        (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
        fig.savefig(ROOT / "bench" / "results" / "adaptive_arms.png", dpi=90)
        write_section("Adaptive prompting", body)
    plt.close(fig)


if __name__ == "__main__":
    main()
