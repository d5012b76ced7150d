"""The GRPO / GSPO training loop. Read top to bottom: setup, resume, then per step rollouts -> rewards ->
reference -> policy update -> metrics -> checkpoint.

Why one plain function: the RL stage of both methods is a short recipe; keeping it in one readable loop
(nanochat / tiny-grpo style) makes every step auditable. The same code runs alone or under `torchrun`
(DDP: each rank takes its own prompts; gradients are averaged on the last micro-batch).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from vctrain.adaptive import (
    AdaptiveOutcome,
    DistillTarget,
    check_config,
    hard_sample_step,
    load_variant_source,
    plan_variants,
    self_distillation_loss,
    step_metrics,
)
from vctrain.checkpoint import TrainState, latest_checkpoint, load_trainer_state, save_checkpoint
from vctrain.config import TrainConfig, config_to_dict
from vctrain.data import DataOrder, RowRef, VideoSample, index_rows, index_variants, load_sample
from vctrain.losses import group_advantages, policy_loss
from vctrain.model import (
    autocast,
    completion_logprobs,
    encode_prompt,
    load_model,
    load_processor,
    resolve_device,
    use_bf16,
    vision_token_ids,
)
from vctrain.rollout import ENGINES, Rollout
from vctrain.runlog import RunLog

# (completions [N], ground truths [N], training progress in [0, 1]) -> (total reward [N], named parts [N] each)
RewardComputer = Callable[[list[str], list, float], tuple[np.ndarray, dict[str, np.ndarray]]]


def default_rewards(weights: dict[str, float], params: dict[str, dict] | None = None) -> RewardComputer:
    """The weighted sum of named rewards from vctrain.rewards (the config's `rewards:` and `reward_params:`).

    Parameters are checked against each reward's signature here: inside a run a reward that raises scores 0 for
    that item (never fatal), so a misspelt switch would otherwise silently zero the reward.
    """
    import inspect

    from vctrain.rewards import REWARDS, compute_rewards

    unknown = sorted(set(weights) - set(REWARDS))
    if unknown:
        raise KeyError(f"rewards: unknown name(s) {unknown}; known: {sorted(REWARDS)}")
    params = params or {}
    for name, kwargs in params.items():
        if name not in weights:
            raise KeyError(f"reward_params: {name!r} is not one of the configured rewards {sorted(weights)}")
        accepted = {p.name for p in inspect.signature(REWARDS[name]).parameters.values() if p.kind is p.KEYWORD_ONLY}
        bad = sorted(set(kwargs) - (accepted - {"progress"}))
        if bad:
            raise KeyError(
                f"reward_params.{name}: unknown parameter(s) {bad}; known: {sorted(accepted - {'progress'})}"
            )
    return lambda texts, gts, progress: compute_rewards(texts, gts, weights, progress=progress, reward_params=params)


@dataclass
class Dist:
    """This process's place in the job (world_size 1 without torchrun)."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str) -> Dist:
    """Join the torchrun job if there is one (nccl on GPUs, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = resolve_device(device_name, int(os.environ.get("LOCAL_RANK", "0")))
    if world > 1 and not torch.distributed.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, device)


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int, min_ratio: float):
    """Linear warm-up then cosine decay to `min_ratio` of the peak learning rate."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@dataclass
class Group:
    """One prompt's rollouts and everything the update needs from them."""

    prompt: dict[str, torch.Tensor]
    rollout: Rollout
    advantages: torch.Tensor  # [G]
    ref_logp: torch.Tensor | None  # [G, T]
    old_logp: torch.Tensor | None = None  # [G, T], set on the first update
    rewards: dict[str, np.ndarray] = field(default_factory=dict)
    distill: DistillTarget | None = None  # VisionCoach: responses whose NLL joins this group's loss


@dataclass
class TrainResult:
    output_dir: str
    steps_done: int
    last_checkpoint: str | None


class Timers:
    """Wall-clock seconds per phase; synchronises the GPU so phases are not blurred by async kernels."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, name: str):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.seconds[name] += time.perf_counter() - start


def _record_error(output_dir: str, ref: RowRef, exc: Exception) -> None:
    with (Path(output_dir) / "errors.jsonl").open("a") as fh:
        fh.write(
            json.dumps(
                {
                    "stage": "load",
                    "file": ref.shard_path,
                    "sample_id": ref.sample_id,
                    "reason": f"{type(exc).__name__}: {exc}",
                }
            )
            + "\n"
        )


def _next_sample(refs: list[RowRef], order: DataOrder, counter: int, cfg: TrainConfig) -> VideoSample:
    """The sample at `counter`; a row that fails to load is recorded and the next row in order is taken."""
    position = order.position(counter)
    for attempt in range(min(10, len(refs))):
        ref = refs[(position + attempt) % len(refs)]
        try:
            return load_sample(ref, cfg.data.max_frames)
        except Exception as exc:  # noqa: BLE001 - bad input is recorded and skipped, never fatal
            _record_error(cfg.output_dir, ref, exc)
    raise RuntimeError(f"10 consecutive rows failed to load; see {cfg.output_dir}/errors.jsonl")


def _gather_mean(metrics: dict[str, float], dist: Dist) -> dict[str, float]:
    """Average each metric over ranks (keys may differ: a key counts over the ranks that have it)."""
    if dist.world_size == 1:
        return metrics
    everyone: list[dict[str, float]] = [{} for _ in range(dist.world_size)]
    torch.distributed.all_gather_object(everyone, metrics)
    keys = sorted({k for m in everyone for k in m})
    return {k: float(np.mean([m[k] for m in everyone if k in m])) for k in keys}


def train(cfg: TrainConfig, reward_fn: RewardComputer | None = None) -> TrainResult:
    """Run (or resume) GRPO/GSPO training as configured; returns where the run and its last checkpoint are."""
    from vctrain.groundtruth import ground_truth_from_row

    # --- setup -------------------------------------------------------------------------------------------
    dist = setup_distributed(cfg.device)
    out = Path(cfg.output_dir)
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    torch.manual_seed(cfg.seed + dist.rank)
    np.random.seed(cfg.seed + dist.rank)
    reward_fn = reward_fn or default_rewards(cfg.rewards, cfg.reward_params)
    refs = index_rows(cfg.data.shards, cfg.data.variant, cfg.data.tasks)
    order = DataOrder(len(refs), cfg.seed, cfg.data.shuffle)
    variant_rows: dict[tuple[str, str], RowRef] = {}
    variant_plan: dict[str, str | None] = {}
    if cfg.adaptive.enabled:  # VisionCoach: the pre-rendered variant each sample is prompted with when hard
        check_config(cfg.adaptive)
        variant_rows = index_variants(cfg.data.shards, cfg.data.tasks)
        variant_plan = plan_variants(
            load_variant_source(cfg.adaptive.variant_source), [r.sample_id for r in refs], variant_rows
        )
    bf16 = use_bf16(cfg.model.precision, dist.device)
    resume_from = None
    if cfg.resume == "auto":
        resume_from = latest_checkpoint(out)
    elif cfg.resume not in ("never", ""):
        resume_from = Path(cfg.resume)
    weights_path = str(resume_from / "model") if resume_from else cfg.model.path
    processor = load_processor(cfg.model.processor_path or cfg.model.path)
    policy = load_model(weights_path, cfg.model, dist.device, trainable=True)
    reference = None
    if cfg.loss.beta > 0:
        reference = load_model(cfg.model.path, cfg.model, dist.device, trainable=False, bf16=bf16)
    trainable = policy
    if dist.world_size > 1:
        trainable = torch.nn.parallel.DistributedDataParallel(
            policy, device_ids=[dist.device.index] if dist.device.type == "cuda" else None
        )
    optimizer = torch.optim.AdamW(
        policy.parameters(), lr=cfg.optim.lr, betas=tuple(cfg.optim.betas), weight_decay=cfg.optim.weight_decay
    )
    mu = cfg.loss.updates_per_rollout
    scheduler = cosine_schedule(optimizer, cfg.steps * mu, cfg.optim.warmup_steps, cfg.optim.min_lr_ratio)
    state = TrainState()
    if resume_from is not None:
        state = load_trainer_state(resume_from, optimizer, scheduler, rank=dist.rank, world_size=dist.world_size)
    log = RunLog(out, enabled=dist.main, tensorboard=cfg.tensorboard)
    log.truncate_after(state.step)
    tokenizer = getattr(processor, "tokenizer", processor)
    eos_ids = [int(i) for i in np.atleast_1d(policy.generation_config.eos_token_id or tokenizer.eos_token_id)]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]
    banned = vision_token_ids(policy, tokenizer)
    engine = ENGINES[cfg.rollout.engine](tokenizer, cfg.rollout, eos_ids, pad_id, banned)
    from tqdm.auto import tqdm

    def prompted_rollout(sample_id: str, variant: str, timers: Timers, progress: float):
        """G scored responses on the sample's `variant` row (its frames and hint as stored), or None if unreadable."""
        ref = variant_rows[(sample_id, variant)]
        try:
            sample = load_sample(ref, cfg.data.max_frames)
        except Exception as exc:  # noqa: BLE001 - bad input is recorded and skipped, never fatal
            _record_error(cfg.output_dir, ref, exc)
            return None
        prompt = encode_prompt(processor, sample, cfg.data, dist.device)
        with timers("adaptive_rollout"), autocast(dist.device, bf16):
            rollout = engine.generate(policy, prompt, cfg.rollout.group_size)
        with timers("adaptive_reward"):
            total, parts = reward_fn(rollout.texts, [ground_truth_from_row(sample.row)] * len(rollout.texts), progress)
        return prompt, rollout, total, parts

    bar = tqdm(total=cfg.steps, initial=state.step, disable=not (cfg.progress and dist.main), desc="grpo")
    last_ckpt = str(resume_from) if resume_from else None
    steps_this_run = 0

    # --- loop ----------------------------------------------------------------------------------------------
    while state.step < cfg.steps and not (cfg.stop_after_steps and steps_this_run >= cfg.stop_after_steps):
        timers = Timers(dist.device)
        step_start = time.perf_counter()
        progress = state.step / max(1, cfg.steps)
        groups: list[Group] = []
        outcomes: list[AdaptiveOutcome] = []

        # 1. rollouts, rewards, advantages and reference log-probs for this rank's prompts
        for k in range(cfg.prompts_per_step):
            sample = _next_sample(refs, order, state.data_counter + k * dist.world_size + dist.rank, cfg)
            prompt = encode_prompt(processor, sample, cfg.data, dist.device)
            with timers("rollout"), autocast(dist.device, bf16):
                rollout = engine.generate(policy, prompt, cfg.rollout.group_size)
            with timers("reward"):
                gt = ground_truth_from_row(sample.row)
                total, parts = reward_fn(rollout.texts, [gt] * len(rollout.texts), progress)
            advantages = group_advantages(torch.as_tensor(total, dtype=torch.float32, device=dist.device))
            ref_logp = None
            if reference is not None:
                with timers("reference"), torch.no_grad(), autocast(dist.device, bf16):
                    ref_logp = completion_logprobs(
                        reference,
                        prompt,
                        rollout.completion_ids,
                        rollout.completion_mask,
                        cfg.rollout.temperature,
                        banned,
                    ).float()
            groups.append(Group(prompt, rollout, advantages, ref_logp, rewards={"total": total, **parts}))
            if cfg.adaptive.enabled:  # hard sample? prompted rollout, candidates beating the raw mean, top N
                sid = sample.sample_id
                outcomes.append(
                    hard_sample_step(
                        cfg.adaptive,
                        total,
                        prompt,
                        variant_plan.get(sid),
                        functools.partial(prompted_rollout, sid, timers=timers, progress=progress),
                    )
                )
                groups[-1].distill = outcomes[-1].target
        state.data_counter += cfg.prompts_per_step * dist.world_size

        # 2. policy update(s): one micro-batch per group, gradients averaged, clipped, one optimizer step each
        loss_stats: dict[str, list[float]] = defaultdict(list)
        grad_norm = torch.zeros(())
        for _ in range(mu):
            optimizer.zero_grad(set_to_none=True)
            for k, g in enumerate(groups):
                last = k == len(groups) - 1
                sync = contextlib.nullcontext() if last or dist.world_size == 1 else trainable.no_sync()
                if g.distill is not None:  # alpha * L_SD, its own backward (no_sync: one all-reduce per step)
                    local = trainable.no_sync() if dist.world_size > 1 else contextlib.nullcontext()
                    with timers("distill"), local, autocast(dist.device, bf16):
                        d = g.distill
                        sd_logp = completion_logprobs(
                            trainable, d.prompt, d.completion_ids, d.completion_mask, cfg.rollout.temperature, banned
                        ).float()
                        l_sd = self_distillation_loss(sd_logp, d.completion_mask)
                        (cfg.adaptive.alpha * l_sd / len(groups)).backward()
                    loss_stats["l_sd"].append(float(l_sd.detach()))
                with timers("policy"), sync, autocast(dist.device, bf16):
                    ids, mask = g.rollout.completion_ids, g.rollout.completion_mask
                    logp = completion_logprobs(trainable, g.prompt, ids, mask, cfg.rollout.temperature, banned).float()
                    if g.old_logp is None:
                        g.old_logp = logp.detach()  # on-policy: the sampling policy is the current weights
                    parts = policy_loss(
                        logp,
                        g.old_logp,
                        g.ref_logp,
                        mask,
                        g.advantages,
                        algorithm=cfg.loss.algorithm,
                        eps=cfg.loss.clip_eps,
                        beta=cfg.loss.beta,
                        kl_clamp=cfg.loss.kl_clamp,
                        aggregation=cfg.loss.aggregation,
                    )
                    (parts.loss / len(groups)).backward()
                for name in ("policy_loss", "kl", "clip_fraction", "ratio_mean"):
                    loss_stats[name].append(getattr(parts, name))
                loss_stats["loss"].append(float(parts.loss.detach()))
            with timers("policy"):
                if cfg.optim.max_grad_norm > 0:
                    grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.optim.max_grad_norm)
                optimizer.step()
                scheduler.step()
        state.step += 1
        steps_this_run += 1

        # 3. metrics (averaged over ranks) and checkpoint
        step_seconds = time.perf_counter() - step_start
        completion_tokens = sum(int(g.rollout.completion_mask.sum()) for g in groups)
        all_tokens = completion_tokens + sum(int(g.prompt["input_ids"].shape[1]) * len(g.rollout.texts) for g in groups)
        metrics = {
            **{f"loss/{k}" if k != "loss" else "loss": float(np.mean(v)) for k, v in loss_stats.items() if k != "l_sd"},
            **{
                f"reward/{k}": float(np.mean(np.concatenate([g.rewards[k] for g in groups]))) for k in groups[0].rewards
            },
            "reward/total_std": float(np.mean([np.std(g.rewards["total"]) for g in groups])),
            "response_length": completion_tokens / sum(len(g.rollout.texts) for g in groups),
            "grad_norm": float(grad_norm),
            "lr": float(scheduler.get_last_lr()[0]),
            "time/step": step_seconds,
            **{f"time/{k}": v for k, v in timers.seconds.items()},
            "throughput/tokens_per_second": all_tokens / step_seconds,
            "throughput/generated_tokens_per_second": completion_tokens / max(1e-9, timers.seconds["rollout"]),
        }
        if cfg.adaptive.enabled:
            metrics.update(step_metrics(outcomes, loss_stats["l_sd"]))
        if dist.device.type == "cuda":
            metrics["memory/max_allocated_gib"] = torch.cuda.max_memory_allocated(dist.device) / 2**30
        metrics = _gather_mean(metrics, dist)
        log.log(state.step, metrics)
        bar.update(1)
        bar.set_postfix(reward=f"{metrics['reward/total']:.3f}", loss=f"{metrics['loss']:.4f}")
        if state.step == cfg.steps or (cfg.save_every and state.step % cfg.save_every == 0):
            last_ckpt = str(
                save_checkpoint(
                    out,
                    policy,
                    processor,
                    optimizer,
                    scheduler,
                    state,
                    config_to_dict(cfg),
                    rank=dist.rank,
                    world_size=dist.world_size,
                )
            )
    bar.close()
    log.close()
    return TrainResult(str(out), state.step, last_ckpt)
