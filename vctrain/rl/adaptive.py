"""VisionCoach's input-adaptive visual prompting with self-distillation (arXiv 2603.14659), as pure pieces.

Per sample i: roll out G responses on the raw input (mean reward R̄ᵢ); if R̄ᵢ < k the sample is hard: roll out G
more on the chosen prompt variant (its pre-rendered frames and hint, read from the shards), keep the responses
whose reward beats R̄ᵢ, take the top N by answer reward and add `alpha * L_SD` (their length-normalised NLL) to
the RL loss, which itself stays on the raw group. The trainer renders nothing: every variant is in the shards.

Why pure functions plus one small step function: the hard rule, the filter, the top-N choice and the loss are
checked by hand in tests; the step takes the prompted rollout as a callable, so it holds no model code.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vctrain.config import AdaptiveConfig
from vctrain.rl.losses import masked_mean
from vctrain.rl.rollout import Rollout


def is_hard(mean_reward: float, threshold: float) -> bool:
    """Hard when the raw group's mean reward is strictly below the threshold (VisionCoach: R̄ᵢ < k)."""
    return float(mean_reward) < float(threshold)


def select_candidates(prompted_rewards: np.ndarray, raw_mean: float) -> np.ndarray:
    """Indices of prompted responses whose reward strictly beats the raw mean. [G] -> [C] int."""
    return np.flatnonzero(np.asarray(prompted_rewards, dtype=np.float64) > float(raw_mean))


def top_n_by_answer(
    candidates: np.ndarray, answer_rewards: np.ndarray, n: int, total_rewards: np.ndarray | None = None
) -> np.ndarray:
    """The best `n` candidates by answer reward. candidates [C] indices into the group; answer/total rewards [G].

    Ties on the answer reward go to the higher total reward, then to the earlier sample (a fixed, seed-free order).
    Returns [min(n, C)] indices, best first.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    answer = np.asarray(answer_rewards, dtype=np.float64)
    total = np.zeros_like(answer) if total_rewards is None else np.asarray(total_rewards, dtype=np.float64)
    order = sorted(candidates.tolist(), key=lambda j: (-answer[j], -total[j], j))
    return np.asarray(order[: max(0, n)], dtype=np.int64)


def self_distillation_loss(logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_SD = -(1/|S|) Σ_j (1/|y_j|) Σ_t log π(y_j,t | y_j,<t, x): logp, mask [S, T] -> scalar (0 when S = 0)."""
    if logp.shape[0] == 0:
        return logp.sum() * 0.0  # keeps the graph and dtype; no targets, no loss
    per_response = masked_mean(logp, mask, dim=1)  # [S]: each response's mean token log-prob over its own length
    return -per_response.mean()


# --- which variant a hard sample gets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantSource:
    """The resolved `adaptive.variant_source`: one fixed variant, or a per-sample table read from Parquet."""

    spec: str
    fixed: str = ""  # the variant of `fixed:NAME`
    table: dict[str, str] | None = None  # sample_id -> variant (selector / oracle)

    def choose(self, sample_id: str) -> str | None:
        """The variant to prompt with; None when the sample has no choice (absent from the table)."""
        if self.table is None:
            return self.fixed
        return self.table.get(sample_id)


def _read_columns(path: str, needed: tuple[str, ...], what: str) -> dict[str, list]:
    import pyarrow.parquet as pq

    if not Path(path).is_file():
        raise FileNotFoundError(f"adaptive.variant_source: {what} file {path} not found")
    table = pq.read_table(path)
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise ValueError(f"adaptive.variant_source: {path} lacks column(s) {missing} of {what} files {list(needed)}")
    return table.select(list(needed)).to_pydict()


def selector_table(path: str) -> dict[str, str]:
    """Predictions Parquet (sample_id, variant, confidence) -> sample_id -> its most confident variant (ties: the
    first row in the file)."""
    cols = _read_columns(path, ("sample_id", "variant", "confidence"), "predictions")
    best: dict[str, tuple[float, str]] = {}
    for sid, variant, conf in zip(cols["sample_id"], cols["variant"], cols["confidence"]):
        conf = float("-inf") if conf is None or not np.isfinite(conf) else float(conf)
        if sid not in best or conf > best[sid][0]:
            best[sid] = (conf, str(variant))
    return {sid: v for sid, (_, v) in best.items()}


def oracle_table(path: str) -> dict[str, str]:
    """Labels Parquet (one row per sample_id, variant with a stored `score`) -> sample_id -> the best-scoring
    variant. Ties go to the stored `best_variant` when it is among them, else to the first row in the file."""
    cols = _read_columns(path, ("sample_id", "variant", "score", "best_variant"), "labels")
    rows: dict[str, list[tuple[float, str, str]]] = {}
    for sid, variant, score, label in zip(cols["sample_id"], cols["variant"], cols["score"], cols["best_variant"]):
        score = float("-inf") if score is None or not np.isfinite(score) else float(score)
        rows.setdefault(sid, []).append((score, str(variant), str(label or "")))
    out: dict[str, str] = {}
    for sid, entries in rows.items():
        top = max(score for score, _, _ in entries)
        tied = [variant for score, variant, _ in entries if score == top]
        label = entries[0][2]
        out[sid] = label if label in tied else tied[0]
    return out


def load_variant_source(spec: str) -> VariantSource:
    """Parse `fixed:NAME`, `selector:PATH` or `oracle:PATH` (paths relative to the working directory)."""
    kind, sep, arg = spec.partition(":")
    if not sep or not arg:
        raise ValueError(f"adaptive.variant_source must be fixed:NAME, selector:PATH or oracle:PATH, got {spec!r}")
    if kind == "fixed":
        return VariantSource(spec, fixed=arg)
    if kind == "selector":
        return VariantSource(spec, table=selector_table(arg))
    if kind == "oracle":
        return VariantSource(spec, table=oracle_table(arg))
    raise ValueError(f"adaptive.variant_source kind must be fixed, selector or oracle, got {kind!r}")


# --- the hard-sample step ----------------------------------------------------------------------------------------

# variant name -> (model inputs of that variant's row, its rollout, total reward [G], named reward parts [G] each),
# or None when the row could not be loaded (recorded by the caller; the sample then gets no prompted rollout)
PromptedRollout = Callable[[str], tuple[dict[str, torch.Tensor], Rollout, np.ndarray, dict[str, np.ndarray]] | None]


@dataclass
class DistillTarget:
    """Responses to distil and the input they are scored on (prompted or raw, per `adaptive.condition_on`)."""

    prompt: dict[str, torch.Tensor]
    completion_ids: torch.Tensor  # [S, T] long
    completion_mask: torch.Tensor  # [S, T]


@dataclass
class AdaptiveOutcome:
    """What the step did for one sample (the per-step metrics are means and sums of these)."""

    hard: bool
    variant: str | None = None  # prompted variant, None when not hard or no usable variant
    gain: float | None = None  # mean prompted reward - raw mean
    candidates: int = 0  # prompted responses beating the raw mean
    kept: int = 0  # of those, kept as distillation targets (top N)
    target: DistillTarget | None = None  # None when nothing is distilled


def answer_reward(total: np.ndarray, parts: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """Sum of the named reward parts [G] (the ranking key of the top N); the total reward when no names are set."""
    if not names:
        return np.asarray(total, dtype=np.float64)
    missing = [n for n in names if n not in parts]
    if missing:
        raise KeyError(f"adaptive.answer_rewards: {missing} not among the reward parts {sorted(parts)}")
    return np.sum([np.asarray(parts[n], dtype=np.float64) for n in names], axis=0)


def hard_sample_step(
    cfg: AdaptiveConfig,
    raw_total: np.ndarray,
    raw_prompt: dict[str, torch.Tensor],
    variant: str | None,
    prompted_rollout: PromptedRollout,
) -> AdaptiveOutcome:
    """One sample's adaptive step given its raw group's rewards [G]; `prompted_rollout(variant)` samples and scores
    G responses on that variant's row. Builds distillation targets only when alpha > 0."""
    raw_mean = float(np.mean(raw_total))
    if not is_hard(raw_mean, cfg.threshold):
        return AdaptiveOutcome(hard=False)
    if not variant or variant == "raw":
        return AdaptiveOutcome(hard=True)
    result = prompted_rollout(variant)
    if result is None:
        return AdaptiveOutcome(hard=True)
    prompt, rollout, total, parts = result
    candidates = select_candidates(total, raw_mean)
    kept = top_n_by_answer(candidates, answer_reward(total, parts, cfg.answer_rewards), cfg.top_n, total)
    outcome = AdaptiveOutcome(True, variant, float(np.mean(total)) - raw_mean, len(candidates), len(kept))
    if cfg.alpha > 0 and len(kept):
        index = torch.as_tensor(kept, device=rollout.completion_ids.device)
        ids, mask = rollout.completion_ids[index], rollout.completion_mask[index]  # [S, T]
        width = max(1, int(mask.sum(dim=1).max()))  # drop padding columns every kept response ends before
        target_prompt = prompt if cfg.condition_on == "prompted" else raw_prompt
        outcome.target = DistillTarget(target_prompt, ids[:, :width], mask[:, :width])
    return outcome


def plan_variants(
    source: VariantSource, sample_ids: list[str], available: set[tuple[str, str]] | dict
) -> dict[str, str | None]:
    """sample_id -> the variant its hard-sample step will use, checked against the rows in the shards once at start.

    A choice with no row in the shards is dropped with one warning naming the samples (never fatal): the trainer
    renders nothing, so such a sample simply gets no prompted rollout."""
    plan: dict[str, str | None] = {}
    missing: list[str] = []
    for sid in sample_ids:
        variant = source.choose(sid)
        if variant and variant != "raw" and (sid, variant) not in available:
            missing.append(f"{sid} ({variant!r})")
            variant = None
        plan[sid] = variant
    if missing:
        warnings.warn(
            f"adaptive: {len(missing)} sample(s) lack the chosen variant's row in the shards and get no prompted "
            f"rollout: {', '.join(missing[:5])}",
            stacklevel=2,
        )
    return plan


def check_config(cfg: AdaptiveConfig) -> None:
    """Fail at start-up, not at the first hard sample."""
    if cfg.condition_on not in ("prompted", "raw"):
        raise ValueError(f"adaptive.condition_on must be prompted or raw, got {cfg.condition_on!r}")
    if cfg.top_n < 1:
        raise ValueError(f"adaptive.top_n must be >= 1, got {cfg.top_n}")
    if cfg.alpha < 0:
        raise ValueError(f"adaptive.alpha must be >= 0, got {cfg.alpha}")


def step_metrics(outcomes: list[AdaptiveOutcome], l_sd: list[float]) -> dict[str, float]:
    """`adaptive/*` metrics of one step on this rank: hard share, mean gain per variant, L_SD, candidate counts."""
    metrics = {
        "adaptive/hard_share": float(np.mean([o.hard for o in outcomes])) if outcomes else 0.0,
        "adaptive/candidates": float(sum(o.candidates for o in outcomes)),
        "adaptive/candidates_kept": float(sum(o.kept for o in outcomes)),
    }
    gains: dict[str, list[float]] = {}
    for o in outcomes:
        if o.variant is not None and o.gain is not None:
            gains.setdefault(o.variant, []).append(o.gain)
    metrics.update({f"adaptive/gain/{v}": float(np.mean(g)) for v, g in sorted(gains.items())})
    if l_sd:
        metrics["adaptive/l_sd"] = float(np.mean(l_sd))
    return metrics
