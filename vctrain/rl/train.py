"""The GRPO / GSPO training loop, read top to bottom:

    run = setup(cfg)                              # data, models (DDP or FSDP), optimizer, resume
    per step:
        for each of this rank's prompts:
            group = collect_group(...)            # G rollouts, rewards, advantages, reference log-probs
            adaptive_step(...)                    # VisionCoach: hard sample? prompted rollout, distillation targets
        update_policy(...)                        # mu optimizer steps on the groups (+ alpha * L_SD)
        log metrics; save_checkpoint when due (and always when the run stops)

Why plain functions over a trainer class: the RL stage of both methods is a short recipe; named steps in one file
(nanochat / tiny-grpo style) keep every step auditable. The same code runs alone or under `torchrun` with DDP or
FSDP2 (vctrain/scale/distributed.py); each rank takes its own prompts and gradients are averaged once per update.

Sampling is seeded per prompt position in the data order (not per rank), so a run's rollouts do not depend on how
many ranks share the prompts: one process and two FSDP ranks sample the same responses (tested).
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from vcconfig import ConfigError
from vctrain.config import TrainConfig, config_to_dict
from vctrain.data.reader import DataOrder, RowRef, VideoSample, index_rows, index_variants, load_sample
from vctrain.policy.model import (
    autocast,
    completion_logprobs,
    encode_prompt,
    load_model,
    load_processor,
    use_bf16,
    vision_token_ids,
)
from vctrain.rewards.scoring import RewardComputer, default_rewards
from vctrain.rl.adaptive import (
    AdaptiveOutcome,
    DistillTarget,
    check_config,
    hard_sample_step,
    load_variant_source,
    plan_variants,
    self_distillation_loss,
    step_metrics,
)
from vctrain.rl.losses import group_advantages, policy_loss
from vctrain.rl.rollout import ENGINES, Rollout, RolloutEngine
from vctrain.rl.runlog import RunLog
from vctrain.scale.checkpoint import TrainState, latest_checkpoint, load_trainer_state, save_checkpoint
from vctrain.scale.distributed import (
    Dist,
    announce_forward,
    clip_grad_norm,
    from_rank0,
    no_grad_sync,
    other_rank_forwards,
    setup_distributed,
    wrap_policy,
    wrap_reference,
)

__all__ = ["RewardComputer", "TrainResult", "default_rewards", "setup_distributed", "train"]


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
    resumed_from: str | None = None  # the checkpoint this invocation started from (None: from step 0)


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


@dataclass
class Run:
    """Everything the steps share, built once by `setup`."""

    cfg: TrainConfig
    dist: Dist
    out: Path
    reward_fn: RewardComputer
    refs: list[RowRef]
    order: DataOrder
    processor: Any
    policy: torch.nn.Module  # the model itself (save_pretrained, generate)
    wrapped: torch.nn.Module  # what the loss runs through: DDP(policy), or policy sharded in place by FSDP
    reference: torch.nn.Module | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    engine: RolloutEngine
    banned: list[int]
    bf16: bool
    state: TrainState
    log: RunLog
    resumed_from: Path | None
    variant_rows: dict[tuple[str, str], RowRef] = field(default_factory=dict)
    variant_plan: dict[str, str | None] = field(default_factory=dict)


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
        except Exception as exc:
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


def _seed_sampling(cfg: TrainConfig, counter: int, prompted: bool = False) -> None:
    """Seed the sampler from the prompt's position in the data order (and which rollout of it this is), so that
    rollouts are the same whatever the number of ranks, and a resumed run repeats the uninterrupted one."""
    torch.manual_seed((cfg.seed * 1_000_003 + 2 * counter + int(prompted)) % (2**63))


def _resume_point(cfg: TrainConfig, out: Path) -> Path | None:
    if cfg.resume == "auto":
        return latest_checkpoint(out)
    if cfg.resume not in ("never", ""):
        return Path(cfg.resume)
    return None


def _say(dist: Dist, message: str) -> None:
    """One line on stderr from rank 0 (what the run resumed from, where it stopped)."""
    if dist.main:
        print(f"vctrain: {message}", file=sys.stderr, flush=True)


# --- setup -------------------------------------------------------------------------------------------------------


def setup(cfg: TrainConfig, reward_fn: RewardComputer | None = None) -> Run:
    """Data index, policy and reference (wrapped for the strategy), optimizer, schedule, and the resume point."""
    if cfg.rollout.engine not in ENGINES:  # registered at run time, so checked here rather than by load_config
        raise ConfigError(f"rollout.engine: {cfg.rollout.engine!r} is not allowed; must be one of "
                          f"{', '.join(sorted(ENGINES))}")
    dist = setup_distributed(cfg.device, cfg.train)
    out = Path(cfg.output_dir)
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    torch.manual_seed(cfg.seed + dist.rank)
    np.random.seed(cfg.seed + dist.rank)
    reward_fn = reward_fn or default_rewards(cfg.rewards, cfg.reward_params)  # checked before anything loads
    refs = index_rows(cfg.data.shards, cfg.data.variant, cfg.data.tasks, full_check=cfg.data.full_check)
    variant_rows: dict[tuple[str, str], RowRef] = {}
    variant_plan: dict[str, str | None] = {}
    if cfg.adaptive.enabled:  # VisionCoach: the pre-rendered variant each sample is prompted with when hard
        check_config(cfg.adaptive)
        variant_rows = index_variants(cfg.data.shards, cfg.data.tasks)
        variant_plan = plan_variants(
            load_variant_source(cfg.adaptive.variant_source), [r.sample_id for r in refs], variant_rows
        )

    bf16 = use_bf16(cfg.model.precision, dist.device)
    resume_from = _resume_point(cfg, out)
    load_device = torch.device("cpu") if dist.sharded else dist.device  # FSDP moves only the shards
    meta = from_rank0(dist) and not dist.main  # FSDP: only rank 0 reads weights, and sends each rank its shards
    # DDP reads the checkpoint's weights here; FSDP reads its sharded copy (dcp/) in load_trainer_state
    weights_path = str(resume_from / "model") if resume_from and not dist.sharded else cfg.model.path
    processor = load_processor(cfg.model.processor_path or cfg.model.path)
    policy = load_model(weights_path, cfg.model, load_device, trainable=True, meta=meta)
    tokenizer = getattr(processor, "tokenizer", processor)
    eos_ids = [int(i) for i in np.atleast_1d(policy.generation_config.eos_token_id or tokenizer.eos_token_id)]
    banned = vision_token_ids(policy, tokenizer)
    wrapped = wrap_policy(policy, dist, cfg.train, bf16)
    reference = None
    if cfg.loss.beta > 0:
        reference = load_model(cfg.model.path, cfg.model, load_device, trainable=False, bf16=bf16, meta=meta)
        reference = wrap_reference(reference, dist, cfg.train)
    optimizer = torch.optim.AdamW(
        policy.parameters(), lr=cfg.optim.lr, betas=(cfg.optim.betas[0], cfg.optim.betas[1]),
        weight_decay=cfg.optim.weight_decay
    )
    mu = cfg.loss.updates_per_rollout
    scheduler = cosine_schedule(optimizer, cfg.steps * mu, cfg.optim.warmup_steps, cfg.optim.min_lr_ratio)

    state = TrainState()
    if resume_from is not None:
        state = load_trainer_state(
            resume_from, policy, optimizer, scheduler, rank=dist.rank, world_size=dist.world_size, sharded=dist.sharded
        )
        _say(dist, f"resumed from {resume_from} (step {state.step} of {cfg.steps}, {state.data_counter} prompts seen)")
    else:
        why = f"no checkpoint in {out / 'checkpoints'}" if cfg.resume == "auto" else f"resume={cfg.resume}"
        _say(dist, f"{why}: starting at step 0")
    log = RunLog(out, enabled=dist.main, tensorboard=cfg.tensorboard)
    log.truncate_after(state.step)

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]
    engine_cls = ENGINES[cfg.rollout.engine]
    engine_args = (tokenizer, cfg.rollout, eos_ids, pad_id, banned)
    synced = dist.sharded and dist.world_size > 1
    engine = engine_cls(*engine_args, synced_gpus=True) if synced else engine_cls(*engine_args)
    return Run(
        cfg, dist, out, reward_fn, refs,
        DataOrder(len(refs), cfg.seed, cfg.data.shuffle), processor, policy, wrapped, reference, optimizer, scheduler,
        engine, banned, bf16, state, log, resume_from, variant_rows, variant_plan,
    )  # fmt: skip


# --- 1. collect a group ------------------------------------------------------------------------------------------


def collect_group(run: Run, sample: VideoSample, counter: int, timers: Timers, progress: float) -> Group:
    """G sampled responses to one prompt, their rewards, group advantages and the reference's log-probs."""
    from vctrain.data.groundtruth import ground_truth_from_row

    cfg, device = run.cfg, run.dist.device
    prompt = encode_prompt(run.processor, sample, cfg.data, device)
    _seed_sampling(cfg, counter)
    with timers("rollout"), autocast(device, run.bf16):
        rollout = run.engine.generate(run.policy, prompt, cfg.rollout.group_size)
    with timers("reward"):
        gt = ground_truth_from_row(sample.row)
        total, parts = run.reward_fn(rollout.texts, [gt] * len(rollout.texts), progress)
    advantages = group_advantages(torch.as_tensor(total, dtype=torch.float32, device=device))  # [G]
    ref_logp = None
    if run.reference is not None:
        with timers("reference"), torch.no_grad(), autocast(device, run.bf16):
            ref_logp = completion_logprobs(
                run.reference, prompt, rollout.completion_ids, rollout.completion_mask, cfg.rollout.temperature,
                run.banned,
            ).float()  # [G, T]  # fmt: skip
    return Group(prompt, rollout, advantages, ref_logp, rewards={"total": total, **parts})


# --- 2. VisionCoach's adaptive step ------------------------------------------------------------------------------


def adaptive_step(run: Run, group: Group, sample: VideoSample, counter: int, timers: Timers, progress: float):
    """Hard sample? Roll out again on its chosen variant's pre-rendered row, keep the responses beating the raw mean
    (top N) as the group's distillation targets. Returns the AdaptiveOutcome (metrics)."""
    from vctrain.data.groundtruth import ground_truth_from_row

    cfg, dist = run.cfg, run.dist
    prompted_done = False

    def prompted_rollout(variant: str):
        """G scored responses on the sample's `variant` row (its frames and hint as stored), or None if unreadable."""
        nonlocal prompted_done
        ref = run.variant_rows[(sample.sample_id, variant)]
        try:
            prompted = load_sample(ref, cfg.data.max_frames)
        except Exception as exc:
            _record_error(cfg.output_dir, ref, exc)
            return None
        prompt = encode_prompt(run.processor, prompted, cfg.data, dist.device)
        announce_forward(dist)  # under FSDP the other ranks join this generate with a dummy one
        _seed_sampling(cfg, counter, prompted=True)
        with timers("adaptive_rollout"), autocast(dist.device, run.bf16):
            rollout = run.engine.generate(run.policy, prompt, cfg.rollout.group_size)
        prompted_done = True
        with timers("adaptive_reward"):
            gt = ground_truth_from_row(prompted.row)
            total, parts = run.reward_fn(rollout.texts, [gt] * len(rollout.texts), progress)
        return prompt, rollout, total, parts

    outcome = hard_sample_step(
        cfg.adaptive, group.rewards["total"], group.prompt, run.variant_plan.get(sample.sample_id), prompted_rollout
    )
    if not prompted_done and other_rank_forwards(dist):  # join another rank's prompted rollout (FSDP)
        with torch.no_grad(), autocast(dist.device, run.bf16):
            run.engine.generate(run.policy, group.prompt, cfg.rollout.group_size)
    group.distill = outcome.target
    return outcome


# --- 3. update the policy ----------------------------------------------------------------------------------------


def _distill_backward(run: Run, g: Group, n_groups: int, timers: Timers, stats: dict[str, list[float]]) -> None:
    """alpha * L_SD of one group's distillation targets, backward without gradient sync (one sync per update).

    Under FSDP every rank must run the same forward passes: when another rank distils, a rank without targets
    runs its raw group through the model with a zero weight."""
    cfg, dist = run.cfg, run.dist
    has_target = g.distill is not None
    if has_target:
        announce_forward(dist)
    elif not other_rank_forwards(dist):
        return
    d = g.distill or DistillTarget(g.prompt, g.rollout.completion_ids, g.rollout.completion_mask)
    with timers("distill"), no_grad_sync(run.wrapped, dist), autocast(dist.device, run.bf16):
        sd_logp = completion_logprobs(
            run.wrapped, d.prompt, d.completion_ids, d.completion_mask, cfg.rollout.temperature, run.banned
        ).float()  # [S, T]
        l_sd = self_distillation_loss(sd_logp, d.completion_mask)
        weight = cfg.adaptive.alpha / n_groups if has_target else 0.0
        (weight * l_sd).backward()
    if has_target:
        stats["l_sd"].append(float(l_sd.detach()))


def update_policy(run: Run, groups: list[Group], timers: Timers) -> tuple[dict[str, list[float]], float]:
    """`updates_per_rollout` optimizer steps on this step's groups: one micro-batch per group, gradients averaged
    over groups and ranks, clipped. Returns the loss statistics and the last gradient norm."""
    cfg, dist = run.cfg, run.dist
    stats: dict[str, list[float]] = defaultdict(list)
    grad_norm = torch.zeros(())
    for _ in range(cfg.loss.updates_per_rollout):
        run.optimizer.zero_grad(set_to_none=True)
        for k, g in enumerate(groups):
            if cfg.adaptive.enabled:
                _distill_backward(run, g, len(groups), timers, stats)
            last = k == len(groups) - 1
            with timers("policy"), no_grad_sync(run.wrapped, dist, skip=not last), autocast(dist.device, run.bf16):
                ids, mask = g.rollout.completion_ids, g.rollout.completion_mask  # [G, T]
                logp = completion_logprobs(run.wrapped, g.prompt, ids, mask, cfg.rollout.temperature, run.banned)
                logp = logp.float()  # [G, T]
                if g.old_logp is None:
                    g.old_logp = logp.detach()  # on-policy: the sampling policy is the current weights
                parts = policy_loss(
                    logp, g.old_logp, g.ref_logp, mask, g.advantages, algorithm=cfg.loss.algorithm,
                    eps=cfg.loss.clip_eps, beta=cfg.loss.beta, kl_clamp=cfg.loss.kl_clamp,
                    aggregation=cfg.loss.aggregation,
                )  # fmt: skip
                (parts.loss / len(groups)).backward()
            for name in ("policy_loss", "kl", "clip_fraction", "ratio_mean"):
                stats[name].append(getattr(parts, name))
            stats["loss"].append(float(parts.loss.detach()))
        with timers("policy"):
            if cfg.optim.max_grad_norm > 0:
                grad_norm = clip_grad_norm(run.policy, cfg.optim.max_grad_norm)
            run.optimizer.step()
            run.scheduler.step()
    return stats, float(grad_norm)


# --- 4. metrics and checkpoints ----------------------------------------------------------------------------------


def step_report(
    run: Run,
    groups: list[Group],
    outcomes: list[AdaptiveOutcome],
    stats: dict[str, list[float]],
    grad_norm: float,
    timers: Timers,
    step_seconds: float,
) -> dict[str, float]:
    """This step's metrics, averaged over ranks."""
    completion_tokens = sum(int(g.rollout.completion_mask.sum()) for g in groups)
    all_tokens = completion_tokens + sum(int(g.prompt["input_ids"].shape[1]) * len(g.rollout.texts) for g in groups)
    metrics = {
        **{f"loss/{k}" if k != "loss" else "loss": float(np.mean(v)) for k, v in stats.items() if k != "l_sd"},
        **{f"reward/{k}": float(np.mean(np.concatenate([g.rewards[k] for g in groups]))) for k in groups[0].rewards},
        "reward/total_std": float(np.mean([np.std(g.rewards["total"]) for g in groups])),
        "response_length": completion_tokens / sum(len(g.rollout.texts) for g in groups),
        "grad_norm": grad_norm,
        "lr": float(run.scheduler.get_last_lr()[0]),
        "time/step": step_seconds,
        **{f"time/{k}": v for k, v in timers.seconds.items()},
        "throughput/tokens_per_second": all_tokens / step_seconds,
        "throughput/generated_tokens_per_second": completion_tokens / max(1e-9, timers.seconds["rollout"]),
    }
    if run.cfg.adaptive.enabled:
        metrics.update(step_metrics(outcomes, stats["l_sd"]))
    if run.dist.device.type == "cuda":
        metrics["memory/max_allocated_gib"] = torch.cuda.max_memory_allocated(run.dist.device) / 2**30
    return _gather_mean(metrics, run.dist)


def save(run: Run) -> str:
    """A checkpoint of the current step (collective: every rank calls it)."""
    return str(
        save_checkpoint(
            run.out,
            run.policy,
            run.processor,
            run.optimizer,
            run.scheduler,
            run.state,
            config_to_dict(run.cfg),
            rank=run.dist.rank,
            world_size=run.dist.world_size,
            sharded=run.dist.sharded,
        )
    )


# --- the loop ----------------------------------------------------------------------------------------------------


def train(cfg: TrainConfig, reward_fn: RewardComputer | None = None) -> TrainResult:
    """Run (or resume) GRPO/GSPO training as configured; returns where the run and its last checkpoint are.

    A run that stops (at `steps` or at `stop_after_steps`) always writes a checkpoint first, so running the same
    command again continues where it stopped."""
    from tqdm.auto import tqdm

    run = setup(cfg, reward_fn)
    dist, state = run.dist, run.state
    bar = tqdm(total=cfg.steps, initial=state.step, disable=not (cfg.progress and dist.main), desc="grpo")
    last_ckpt = str(run.resumed_from) if run.resumed_from else None
    saved_step = state.step if run.resumed_from else -1
    steps_this_run = 0
    while state.step < cfg.steps and not (cfg.stop_after_steps and steps_this_run >= cfg.stop_after_steps):
        timers = Timers(dist.device)
        step_start = time.perf_counter()
        progress = state.step / max(1, cfg.steps)
        groups: list[Group] = []
        outcomes: list[AdaptiveOutcome] = []
        for k in range(cfg.prompts_per_step):
            counter = state.data_counter + k * dist.world_size + dist.rank
            sample = _next_sample(run.refs, run.order, counter, cfg)
            groups.append(collect_group(run, sample, counter, timers, progress))
            if cfg.adaptive.enabled:
                outcomes.append(adaptive_step(run, groups[-1], sample, counter, timers, progress))
        state.data_counter += cfg.prompts_per_step * dist.world_size
        stats, grad_norm = update_policy(run, groups, timers)
        state.step += 1
        steps_this_run += 1

        metrics = step_report(run, groups, outcomes, stats, grad_norm, timers, time.perf_counter() - step_start)
        run.log.log(state.step, metrics)
        bar.update(1)
        bar.set_postfix(reward=f"{metrics['reward/total']:.3f}", loss=f"{metrics['loss']:.4f}")
        if cfg.save_every and state.step % cfg.save_every == 0:
            last_ckpt, saved_step = save(run), state.step
    if cfg.checkpoint_on_stop and steps_this_run and saved_step != state.step:  # a stop leaves a checkpoint
        last_ckpt = save(run)
    if steps_this_run and state.step < cfg.steps:
        _say(dist, f"stopped at step {state.step} of {cfg.steps}; checkpoint {last_ckpt} (run again to resume)")
    bar.close()
    run.log.close()
    return TrainResult(str(run.out), state.step, last_ckpt, str(run.resumed_from) if run.resumed_from else None)
