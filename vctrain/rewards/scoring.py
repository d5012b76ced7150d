"""The reward callable the trainer and `vctrain eval` share: the config's weighted sum of named rewards.

Why its own module: training and evaluation must score with the very same function and switches, and evaluation
should not import the training loop to get it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

# (completions [N], ground truths [N], training progress in [0, 1]) -> (total reward [N], named parts [N] each)
RewardComputer = Callable[[list[str], list, float], tuple[np.ndarray, dict[str, np.ndarray]]]


def default_rewards(weights: dict[str, float], params: dict[str, dict] | None = None) -> RewardComputer:
    """The weighted sum of named rewards from vctrain.rewards (the config's `rewards:` and `reward_params:`).

    Parameters are checked against each reward's signature here: inside a run a reward that raises scores 0 for
    that item (never fatal), so a misspelt switch would otherwise silently zero the reward.
    """
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
