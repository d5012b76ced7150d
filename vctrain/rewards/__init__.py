"""Rewards of both methods as plain functions, selected by name with weights (each term in [0, 1]).

Every reward has the signature `fn(completion, gt, *, progress=0.0, **params) -> {"score": [0, 1], <sub>: float}`
and returns the same keys for every input; keyword parameters switch conventions (see each function), and
`compute_rewards(..., reward_params={"tiou": {"grammar": "paper"}})` passes them per reward. Every reward takes
`convention` (`default`, `stvg_r1`, `visioncoach`, `time_r1`, `tubedetr`: vctrain.rewards.conventions), which sets all
of one source's behaviours at once; `compute_rewards(..., convention="stvg_r1")` passes it to every reward.

Where to start: each reward lives in its own module here (`temporal.py`, `spatial.py`, ...); `scoring.py` turns the
config's `rewards:` weights and `reward_params:` into the one checked callable that training and `vctrain eval` share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from vctrain.data.groundtruth import GroundTruth
from vctrain.rewards.boxes import answer_box
from vctrain.rewards.conventions import CONVENTIONS, Convention, check_convention
from vctrain.rewards.format import format_stvg, format_visioncoach
from vctrain.rewards.identity import id_match
from vctrain.rewards.spatial import spatial
from vctrain.rewards.temporal import temporal_point, temporal_segment, tiou, tiou_timer1
from vctrain.rewards.text import accuracy, mcq, rouge

RewardFn = Callable[..., dict[str, float]]

REWARDS: dict[str, RewardFn] = {
    "format_stvg": format_stvg,
    "format_visioncoach": format_visioncoach,
    "tiou": tiou,
    "tiou_timer1": tiou_timer1,
    "id_match": id_match,
    "spatial": spatial,
    "temporal_point": temporal_point,
    "temporal_segment": temporal_segment,
    "mcq": mcq,
    "rouge": rouge,
    "accuracy": accuracy,
    "answer_box": answer_box,
}


def _clean(value: Any) -> float:
    """A finite float; NaN/inf or non-numbers become 0 so one bad value never spreads into a batch mean."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return 0.0
    return out if math.isfinite(out) else 0.0


def score_one(
    name: str, completion: str, gt: GroundTruth, *, progress: float = 0.0, params: Mapping[str, Any] | None = None
) -> tuple[dict[str, float], bool]:
    """One reward on one item: (scores, failed). Any exception or non-text completion gives score 0, failed True,
    except a missing library (ImportError), which is the setup's fault, not the completion's: it is raised.

    The score is clamped to [0, 1] under the default convention; a source's convention keeps the source's value
    (Time-R1's v2 reward can be negative)."""
    try:
        if not isinstance(completion, str):
            raise TypeError(f"completion must be str, got {type(completion).__name__}")
        kwargs = dict(params or {})
        raw = REWARDS[name](completion, gt, progress=progress, **kwargs)
        out = {key: _clean(value) for key, value in raw.items()}
        if kwargs.get("convention", "default") == "default":
            out["score"] = min(1.0, max(0.0, out.get("score", 0.0)))
        return out, False
    except ImportError:
        raise
    except Exception:
        return {"score": 0.0}, True


def compute_rewards(
    completions: list[str],
    gts: list[GroundTruth],
    weights: dict[str, float],
    *,
    progress: float = 0.0,
    reward_params: Mapping[str, Mapping[str, Any]] | None = None,
    convention: str = "default",
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """total [N] = sum_k weights[k] * REWARDS[k](...)["score"]; second value: every reward's score and sub-scores,
    [N] each, keyed "<reward>" and "<reward>/<sub>" (plus "<reward>/failed", 1 where the reward raised).

    Never raises on malformed text (that item scores 0) and each item is scored against its own ground truth.
    Unknown reward names and a length mismatch are configuration errors and do raise. `convention` reaches every
    reward whose `reward_params` do not name one.
    """
    check_convention(convention)
    unknown = sorted(set(weights) - set(REWARDS))
    if unknown:
        raise KeyError(f"unknown reward(s) {unknown}; known: {sorted(REWARDS)}")
    if len(completions) != len(gts):
        raise ValueError(f"{len(completions)} completions but {len(gts)} ground truths")
    params = with_convention(weights, reward_params, convention)
    for values in params.values():  # a misspelt convention is a configuration error, not a zero reward
        check_convention(values.get("convention", "default"))
    n = len(completions)
    total = np.zeros(n, dtype=np.float64)  # [N]
    details: dict[str, np.ndarray] = {}
    for name, weight in weights.items():
        per_item = [score_one(name, c, g, progress=progress, params=params.get(name)) for c, g in zip(completions, gts)]
        keys = sorted({k for scores, _ in per_item for k in scores if k != "score"})
        score = np.array([scores["score"] for scores, _ in per_item], dtype=np.float64)  # [N]
        details[name] = score
        for key in keys:
            details[f"{name}/{key}"] = np.array([scores.get(key, 0.0) for scores, _ in per_item], dtype=np.float64)
        details[f"{name}/failed"] = np.array([float(failed) for _, failed in per_item], dtype=np.float64)
        total += float(weight) * score
    return total, details


def with_convention(
    names: Mapping[str, Any], reward_params: Mapping[str, Mapping[str, Any]] | None, convention: str
) -> dict[str, dict[str, Any]]:
    """Per-reward keyword parameters with `convention` added to every named reward that does not set its own."""
    out = {name: dict(values) for name, values in (reward_params or {}).items()}
    if check_convention(convention) != "default":
        for name in names:
            out.setdefault(name, {}).setdefault("convention", convention)
    return out


__all__ = [
    "CONVENTIONS", "REWARDS", "Convention", "RewardFn", "compute_rewards", "score_one", "with_convention",
]  # fmt: skip
