"""STVG-R1's ID reward: did the model pick the ground-truth track?"""

from __future__ import annotations

from vctrain.groundtruth import GroundTruth
from vctrain.rewards.parse import AnswerTag, Grammar, answer_text, parse_stvg_answer, pick_answer_tag


def id_match(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    answer_tag: AnswerTag = "auto",
    grammar: Grammar = "lenient",
    both_required: bool = False,
    paper_reversed_pays: bool = False,
) -> dict[str, float]:
    """1 if the answered ID equals the ground-truth ID (compared as integers).

    A reversed span (e < s) voids the ID reward: STVG-R1 still pays it, which rewards answers that are half wrong;
    `paper_reversed_pays=True` restores that. No ground-truth ID (target never tracked) scores 0.
    """
    answer = answer_text(completion, pick_answer_tag(gt.task, answer_tag))
    parsed = parse_stvg_answer(answer, grammar=grammar, both_required=both_required)
    correct = parsed.target_id is not None and gt.target_id is not None and parsed.target_id == int(gt.target_id)
    voided = parsed.reversed and not paper_reversed_pays
    return {
        "score": 1.0 if correct and not voided else 0.0,
        "parsed": float(parsed.target_id is not None),
        "reversed": float(parsed.reversed),
    }
