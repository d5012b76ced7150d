"""The same rewards behind the reward signatures of verl, EasyR1 and TRL, for rows written by `vcprep export`.

The frameworks hand over different amounts of ground truth: verl an answer string plus `extra_info`, EasyR1 only the
`answer` column as `ground_truth` (the export makes it the whole ground truth as JSON), TRL every dataset column as
keyword lists. All three end in one `GroundTruth`:
shard-style columns are used where present, a JSON object given as the ground truth is read as a row, and an STVG-R1
answer text (`Target ID: k, Time range: s to e`) supplies the target ID and span when nothing else does.

Which rewards and weights: `weights=` on each call (verl `reward_kwargs`, EasyR1 partial, TRL factory), otherwise
`default_weights(task)`: STVG-R1's terms for `stvg` rows, VisionCoach's seven terms otherwise.

Every call answers with one fixed key set, whatever the row's task: the total plus the score of every reward in
`vctrain.rewards.REWARDS` (unweighted ones are scored for logging and add nothing), because verl and EasyR1 build
their metric arrays from the first row's keys. New rewards in `REWARDS` flow through without changes here.

Entry points by each framework's convention (<package file> is vctrain/adapters/__init__.py, which re-exports them):
    verl    custom_reward_function.path=<package file> custom_reward_function.name=compute_score
    EasyR1  worker.reward.reward_function=<package file>:compute_score            (REWARD_TYPE batch)
            worker.reward.reward_function=<vctrain/adapters/easyr1_sequential.py>:compute_score   (sequential)
    TRL     GRPOTrainer(reward_funcs=[make_trl_reward()]) or trl_reward_functions([...names])
`compute_score` tells verl's keyword call from EasyR1's single positional `reward_inputs`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vctrain.data.groundtruth import GroundTruth, ground_truth_from_row
from vctrain.rewards import REWARDS, compute_rewards
from vctrain.rewards.parse import parse_stvg_answer

STVG_R1_WEIGHTS: dict[str, float] = {"format_stvg": 1.0, "tiou": 1.0, "id_match": 1.0}
"""STVG-R1: format + temporal IoU + ID match, equal weights."""
VISIONCOACH_WEIGHTS: dict[str, float] = {
    "format_visioncoach": 1.0,
    "accuracy": 1.0,
    "tiou": 1.0,
    "spatial": 1.0,
    "temporal_point": 1.0,
    "temporal_segment": 1.0,
    "answer_box": 1.0,
}
"""VisionCoach's seven terms (`answer_box` is the answer box IoU of visual QA; 0 on other tasks, as the source)."""


def default_weights(task: str) -> dict[str, float]:
    """STVG-R1's rewards for `stvg` rows, VisionCoach's for every other task."""
    return dict(STVG_R1_WEIGHTS if task == "stvg" else VISIONCOACH_WEIGHTS)


def _as_row(value: Any) -> dict[str, Any] | None:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            loaded = json.loads(value)
        except json.JSONDecodeError:
            return None
        return dict(loaded) if isinstance(loaded, Mapping) else None
    return None


def ground_truth_from_any(ground_truth: Any, extra: Mapping[str, Any] | None = None) -> GroundTruth:
    """One `GroundTruth` from whatever a framework passes (see the module docstring)."""
    row: dict[str, Any] = dict(extra or {})
    structured = _as_row(ground_truth)
    if structured is not None:
        row.update(structured)
    elif ground_truth is not None:
        row["answer"] = str(ground_truth)
    if "solution" in row and "answer" not in row:
        row["answer"] = row["solution"]
    answer = row.get("answer")
    parsed = parse_stvg_answer(str(answer)) if isinstance(answer, str) else None
    if not row.get("task"):
        row["task"] = "stvg" if parsed is not None and parsed.target_id is not None else "video_qa"
    gt = ground_truth_from_row(row)
    if gt.task == "stvg" and parsed is not None:
        gt = dataclasses.replace(
            gt,
            target_id=gt.target_id if gt.target_id is not None else parsed.target_id,
            span_seconds=gt.span_seconds if gt.span_seconds is not None else parsed.span_seconds,
        )
    return gt


def _score(
    completion: str, gt: GroundTruth, weights: Mapping[str, float] | None, progress: float
) -> dict[str, float]:
    """The weighted total and the score of every reward in `REWARDS` (one fixed key set), as plain floats.

    Unweighted rewards get weight 0, so the total is exactly `compute_rewards` with the chosen weights."""
    chosen = dict(weights) if weights is not None else default_weights(gt.task)
    every = {**{name: 0.0 for name in REWARDS}, **chosen}
    total, details = compute_rewards([completion], [gt], every, progress=progress)
    return {"total": float(total[0]), **{name: float(details[name][0]) for name in REWARDS}}


# ---------------------------------------------------------------- verl
def verl_compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    progress: float | None = None,
    **_: Any,
) -> dict[str, float]:
    """verl's `compute_score(data_source, solution_str, ground_truth, extra_info)`.

    Returns {"score": total, <reward>: score for every reward}; verl uses "score" and logs the rest.
    `progress` (0..1) may also come in `extra_info["progress"]`.
    """
    gt = ground_truth_from_any(ground_truth, extra_info)
    p = progress if progress is not None else float((extra_info or {}).get("progress", 0.0) or 0.0)
    scores = _score(solution_str, gt, weights, p)
    return {"score": scores.pop("total"), **scores}


# ---------------------------------------------------------------- EasyR1
def easyr1_compute_score(
    reward_inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    weights: Mapping[str, float] | None = None,
    progress: float = 0.0,
) -> dict[str, float] | list[dict[str, float]]:
    """EasyR1's `compute_score`: a dict (`REWARD_TYPE = "sequential"`) or a list of dicts (`"batch"`) with `response`
    and `ground_truth` (the export's JSON ground truth, or an answer text), answered with
    {"overall": total, <reward>: score for every reward} per input. Extra keys of an input enrich its ground truth."""
    if isinstance(reward_inputs, Mapping):
        return _easyr1_one(reward_inputs, weights, progress)
    return [_easyr1_one(item, weights, progress) for item in reward_inputs]


def _easyr1_one(item: Mapping[str, Any], weights: Mapping[str, float] | None, progress: float) -> dict[str, float]:
    extra = {k: v for k, v in item.items() if k not in ("response", "response_length", "ground_truth")}
    gt = ground_truth_from_any(item.get("ground_truth"), extra)
    scores = _score(str(item.get("response", "")), gt, weights, progress)
    return {"overall": scores.pop("total"), **scores}


# ---------------------------------------------------------------- TRL
def _completion_text(completion: Any) -> str:
    """TRL passes plain strings, or conversations `[{"role": "assistant", "content": str | [parts]}]`."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], Mapping):
        content = completion[-1].get("content", "")
        if isinstance(content, str):
            return content
        return "".join(part.get("text") or "" for part in content if isinstance(part, Mapping))
    return str(completion)


def _progress_of(trainer_state: Any) -> float:
    step, total = getattr(trainer_state, "global_step", 0), getattr(trainer_state, "max_steps", 0)
    return min(1.0, step / total) if total else 0.0


def _trl_rows(n: int, columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, values in columns.items():
        if key in ("trainer_state", "completion_ids", "prompts") or isinstance(values, (str, bytes)):
            continue
        try:
            if len(values) != n:
                continue
        except TypeError:
            continue
        for row, value in zip(rows, values):
            row[key] = value
    return rows


def make_trl_reward(
    weights: Mapping[str, float] | None = None, name: str = "vctrain_total"
) -> Callable[..., list[float]]:
    """A TRL GRPO reward function `(prompts, completions, **columns) -> list[float]` returning the weighted total
    (`default_weights(task)` per row when `weights` is None). Progress comes from `trainer_state`."""

    def reward(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float]:
        progress = _progress_of(columns.get("trainer_state"))
        out = []
        for completion, row in zip(completions, _trl_rows(len(completions), columns)):
            gt = ground_truth_from_any(row.get("solution", row.get("answer")), row)
            out.append(_score(_completion_text(completion), gt, weights, progress)["total"])
        return out

    reward.__name__ = name
    return reward


def trl_reward_functions(names: Sequence[str]) -> list[Callable[..., list[float]]]:
    """One TRL reward function per reward name (TRL logs each by `__name__` and weighs them by `reward_weights`)."""
    unknown = sorted(set(names) - set(REWARDS))
    if unknown:
        raise KeyError(f"unknown reward(s) {unknown}; known: {sorted(REWARDS)}")
    return [make_trl_reward({name: 1.0}, name=name) for name in names]


# ---------------------------------------------------------------- one entry point for verl and EasyR1
REWARD_NAME = "vctrain"
"""EasyR1 prints this name when it loads the reward file."""
REWARD_TYPE = "batch"
"""EasyR1 hands `compute_score` a list of reward inputs (easyr1_sequential.py: one at a time)."""


def compute_score(*args: Any, **kwargs: Any) -> Any:
    """verl's `compute_score(data_source, solution_str, ground_truth, extra_info)` (verl calls it by keyword) or
    EasyR1's `compute_score(reward_inputs)` (one positional dict or list of dicts), so one file serves both."""
    if len(args) == 1 and "solution_str" not in kwargs and (
        isinstance(args[0], Mapping) or (isinstance(args[0], Sequence) and not isinstance(args[0], str))
    ):
        return easyr1_compute_score(args[0], **kwargs)
    return verl_compute_score(*args, **kwargs)
