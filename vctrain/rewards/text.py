"""Answer accuracy: MCQ letter match and ROUGE-1/2/L F for free-form answers (implemented here, no download)."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from vctrain.data.groundtruth import GroundTruth
from vctrain.rewards.conventions import check_convention
from vctrain.rewards.parse import AnswerTag, answer_text, mcq_letter, pick_answer_tag
from vctrain.rewards.tasks import IMAGE_TASKS


def mcq(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    convention: str = "default",
    answer_tag: AnswerTag = "auto",
    paper_exact: bool | None = None,
) -> dict[str, float]:
    """1 if the answered option letter equals the reference's.

    Accepts `X`, `X.`, `(X)`, `[X]`, `Option X`, `Correct Option: X` (temporal MCQ), case-insensitively (the source is
    case-sensitive), or the exact text of an option. No `<answer>` tag means no answer (score 0).
    `paper_exact=True` (set by `convention="visioncoach"`) is VisionCoach's test: on temporal MCQ rows the text
    between the first and a second `Correct Option:` (none: 0), elsewhere the whole first answer, stripped, must be
    one of `X`, `X.`, `(X)`, `[X]`, case-sensitive.
    """
    exact = paper_exact if paper_exact is not None else check_convention(convention) == "visioncoach"
    answer = answer_text(completion, pick_answer_tag(gt.task, answer_tag))
    reference = mcq_letter(gt.answer, gt.options) if gt.answer is not None else None
    if answer is None or reference is None:
        return {"score": 0.0, "parsed": 0.0}
    if exact:
        if gt.task == "temporal_mcq" and "Correct Option:" not in answer:
            return {"score": 0.0, "parsed": 0.0}  # reward_func.py ans_acc_reward: split(...)[1] raises, reward 0
        choice = answer.split("Correct Option:")[1] if gt.task == "temporal_mcq" else answer
        accepted = {reference, reference + ".", f"({reference})", f"[{reference}]"}
        return {"score": float(choice.strip() in accepted), "parsed": 1.0}
    letter = mcq_letter(answer, gt.options)
    return {"score": float(letter is not None and letter == reference), "parsed": float(letter is not None)}


def tokens(text: str, *, stem: bool = False) -> list[str]:
    """rouge_score's tokens: lower-cased alphanumeric runs; with `stem`, words longer than three characters
    reduced by NLTK's Porter stemmer, as VisionCoach's `RougeScorer(..., use_stemmer=True)` does."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    if not stem:
        return words
    stemmer = _porter()
    return [stemmer.stem(w) if len(w) > 3 else w for w in words]


@lru_cache(maxsize=1)
def _porter() -> Any:
    try:
        from nltk.stem.porter import PorterStemmer
    except ImportError as exc:  # pragma: no cover - nltk is in the train extra
        raise ImportError("ROUGE with stemming needs nltk (pip install 'vcprep[train]'), or pass stem=False") from exc
    return PorterStemmer()


def _f1(overlap: int, n_pred: int, n_ref: int) -> float:
    if overlap == 0 or n_pred == 0 or n_ref == 0:
        return 0.0
    precision, recall = overlap / n_pred, overlap / n_ref
    return 2 * precision * recall / (precision + recall)


def rouge_n_f(pred: list[str], ref: list[str], n: int) -> float:
    """ROUGE-N F1: clipped n-gram overlap."""
    pred_grams = Counter(tuple(pred[i : i + n]) for i in range(len(pred) - n + 1))
    ref_grams = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
    overlap = sum((pred_grams & ref_grams).values())
    return _f1(overlap, sum(pred_grams.values()), sum(ref_grams.values()))


def lcs_length(a: list[str], b: list[str]) -> int:
    """Longest common subsequence length, O(len(a) * len(b)) time, O(len(b)) memory."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l_f(pred: list[str], ref: list[str]) -> float:
    """ROUGE-L F1 (beta = 1) from the longest common subsequence."""
    return _f1(lcs_length(pred, ref), len(pred), len(ref))


def rouge(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    convention: str = "default",
    answer_tag: AnswerTag = "auto",
    stem: bool = True,
) -> dict[str, float]:
    """Mean of ROUGE-1, ROUGE-2 and ROUGE-L F between the answer and the reference text; 0 when either is empty.
    Tokens as rouge_score's, Porter-stemmed as VisionCoach's scorer (`use_stemmer=True`) unless `stem=False`."""
    check_convention(convention)
    answer = answer_text(completion, pick_answer_tag(gt.task, answer_tag))
    pred, ref = tokens(answer or "", stem=stem), tokens(gt.answer or "", stem=stem)
    r1, r2, rl = rouge_n_f(pred, ref, 1), rouge_n_f(pred, ref, 2), rouge_l_f(pred, ref)
    return {"score": (r1 + r2 + rl) / 3, "rouge1": r1, "rouge2": r2, "rougeL": rl}


MCQ_TASKS = frozenset({"mcq", "temporal_mcq", "general_mcq"})
"""Tasks whose answer is an option letter."""
NO_TEXT_ANSWER_TASKS = frozenset({"stvg", "temporal_qa", "image_qa", "st_grounding"})
"""Tasks whose answer is a span, an ID or a box, scored by other rewards (the source's accuracy gives them 0)."""


def accuracy(
    completion: str,
    gt: GroundTruth,
    *,
    progress: float = 0.0,
    convention: str = "default",
    answer_tag: AnswerTag = "auto",
    paper_exact: bool | None = None,
) -> dict[str, float]:
    """VisionCoach's answer accuracy, chosen per row's task (not per batch as in the source): the MCQ letter for
    multiple-choice tasks (`paper_exact` and `convention` passed to `mcq`), mean ROUGE-1/2/L F for free-form
    answers (Porter-stemmed, as the source's), 0 for span/ID/box answers."""
    if gt.task in MCQ_TASKS:
        chosen = mcq(completion, gt, convention=convention, answer_tag=answer_tag, paper_exact=paper_exact)
        return {"score": chosen["score"]}
    check_convention(convention)
    if gt.task in NO_TEXT_ANSWER_TASKS | IMAGE_TASKS:
        return {"score": 0.0}
    return {"score": rouge(completion, gt, answer_tag=answer_tag)["score"]}
