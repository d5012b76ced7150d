"""STVG-R1's ID reward: did the model pick the ground-truth track?"""

from __future__ import annotations

from dataclasses import dataclass

from vctrain.data.groundtruth import GroundTruth
from vctrain.rewards.conventions import resolve_options
from vctrain.rewards.parse import AnswerTag, Grammar, answer_text, parse_stvg_answer, pick_answer_tag


@dataclass(frozen=True)
class IdOptions:
    """How the answered ID is read and when it pays."""

    answer_tag: AnswerTag = "auto"
    """Which `<answer>`: `auto` (last for stvg rows, first otherwise), `first` or `last`."""
    grammar: Grammar = "lenient"
    """ID grammar: `lenient` or `stvg_r1` (alias `paper`); see vctrain.rewards.parse."""
    both_required: bool = False
    """STVG-R1: a missing span voids the ID too."""
    reversed_pays: bool = False
    """STVG-R1 pays the ID reward beside a reversed span (e < s); by default a reversed span voids it."""


ID_CONVENTIONS: dict[str, IdOptions] = {
    "default": IdOptions(),
    "stvg_r1": IdOptions(answer_tag="last", grammar="stvg_r1", both_required=True, reversed_pays=True),
}


def id_match(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    convention: str = "default",
    answer_tag: AnswerTag | None = None,
    grammar: Grammar | None = None,
    both_required: bool | None = None,
    paper_reversed_pays: bool | None = None,
) -> dict[str, float]:
    """1 if the answered ID equals the ground-truth ID (compared as integers).

    A reversed span (e < s) voids the ID reward: STVG-R1 still pays it, which rewards answers that are half wrong;
    `paper_reversed_pays=True` (or `convention="stvg_r1"`) restores that. No ground-truth ID (target never tracked)
    scores 0. Sources without an ID reward (Time-R1, VisionCoach, TubeDETR) use the default.
    """
    opts = resolve_options(
        ID_CONVENTIONS, convention, answer_tag=answer_tag, grammar=grammar, both_required=both_required,
        reversed_pays=paper_reversed_pays,
    )  # fmt: skip
    answer = answer_text(completion, pick_answer_tag(gt.task, opts.answer_tag))
    parsed = parse_stvg_answer(answer, grammar=opts.grammar, both_required=opts.both_required)
    correct = parsed.target_id is not None and gt.target_id is not None and parsed.target_id == int(gt.target_id)
    voided = parsed.reversed and not opts.reversed_pays
    return {
        "score": 1.0 if correct and not voided else 0.0,
        "parsed": float(parsed.target_id is not None),
        "reversed": float(parsed.reversed),
    }
