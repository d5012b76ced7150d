"""GRPO / GSPO objectives as short pure functions (GRPO token-level, GSPO sequence-level ratio; k3 KL).
Shapes: G responses, T tokens.

Every function takes per-token log-probs and a 0/1 mask and returns tensors; nothing here touches a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def group_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """(R - mean_group) / (std_group + eps); rewards [G] -> [G]. std is the unbiased sample std (as TRL, verl)."""
    if rewards.numel() < 2:
        return torch.zeros_like(rewards)
    return (rewards - rewards.mean()) / (rewards.std() + eps)


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of x over mask==1 entries (all, or along dim); an all-zero mask gives 0, not NaN."""
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1.0)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1.0)


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor, clamp: float = 10.0) -> torch.Tensor:
    """k3 estimator of KL(pi || pi_ref) per token: exp(r) - r - 1, r = clamp(logp_ref - logp). [G, T] -> [G, T]."""
    r = (ref_logp - logp).clamp(-clamp, clamp)
    return torch.exp(r) - r - 1.0


def grpo_token_objective(
    logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token-level clipped surrogate loss -min(rho A, clip(rho) A), rho = exp(logp - old_logp).

    logp, old_logp [G, T]; adv [G] -> (loss [G, T], clipped [G, T] bool: the clip was the active branch).
    """
    ratio = torch.exp(logp - old_logp)  # [G, T]
    a = adv.unsqueeze(1)  # [G, 1]
    unclipped = ratio * a
    clipped = ratio.clamp(1.0 - eps, 1.0 + eps) * a
    return -torch.minimum(unclipped, clipped), clipped < unclipped


def gspo_sequence_ratio(logp: torch.Tensor, old_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """GSPO ratio s_i = exp(mean_t(logp - old_logp)) over each response's own tokens. [G, T] -> [G]."""
    return torch.exp(masked_mean(logp - old_logp, mask, dim=1))


def gspo_sequence_objective(
    logp: torch.Tensor, old_logp: torch.Tensor, mask: torch.Tensor, adv: torch.Tensor, eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequence-level clipped surrogate -min(s A, clip(s) A). -> (loss [G], clipped [G] bool)."""
    s = gspo_sequence_ratio(logp, old_logp, mask)  # [G]
    unclipped = s * adv
    clipped = s.clamp(1.0 - eps, 1.0 + eps) * adv
    return -torch.minimum(unclipped, clipped), clipped < unclipped


@dataclass
class LossParts:
    """The scalar loss and what gets logged about it."""

    loss: torch.Tensor  # scalar, differentiable
    policy_loss: float
    kl: float
    clip_fraction: float
    ratio_mean: float


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    mask: torch.Tensor,
    adv: torch.Tensor,
    *,
    algorithm: str = "grpo",
    eps: float = 0.2,
    beta: float = 0.04,
    kl_clamp: float = 10.0,
    aggregation: str = "sequence_mean",
) -> LossParts:
    """L = surrogate + beta * k3 KL for one group (logp/old/ref/mask [G, T], adv [G]); beta=0 or no ref: no KL.

    GRPO's token losses and the KL are averaged per response then over responses (`sequence_mean`) or over
    all tokens (`token_mean`); GSPO's loss is already one number per response and is averaged over responses.
    """
    mask_f = mask.to(logp.dtype)

    def aggregate(per_token: torch.Tensor) -> torch.Tensor:  # [G, T] -> scalar
        if aggregation == "token_mean":
            return masked_mean(per_token, mask_f)
        if aggregation == "sequence_mean":
            return masked_mean(per_token, mask_f, dim=1).mean()
        raise ValueError(f"loss.aggregation must be sequence_mean or token_mean, got {aggregation!r}")

    if algorithm == "grpo":
        per_token, clipped = grpo_token_objective(logp, old_logp, adv, eps)
        surrogate = aggregate(per_token)
        clip_fraction = masked_mean(clipped.to(logp.dtype), mask_f)
        ratio_mean = masked_mean(torch.exp(logp - old_logp), mask_f)
    elif algorithm == "gspo":
        per_seq, clipped = gspo_sequence_objective(logp, old_logp, mask_f, adv, eps)
        surrogate = per_seq.mean()
        clip_fraction = clipped.to(logp.dtype).mean()
        ratio_mean = gspo_sequence_ratio(logp, old_logp, mask_f).mean()
    else:
        raise ValueError(f"loss.algorithm must be grpo or gspo, got {algorithm!r}")
    kl = aggregate(k3_kl(logp, ref_logp, kl_clamp)) if ref_logp is not None else torch.zeros((), device=logp.device)
    loss = surrogate + beta * kl if ref_logp is not None and beta > 0 else surrogate
    return LossParts(
        loss, float(surrogate.detach()), float(kl.detach()), float(clip_fraction.detach()), float(ratio_mean.detach())
    )
