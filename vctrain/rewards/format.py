"""Format rewards: does the completion have the shape the method asks for (think/answer, grounded tags)?"""

from __future__ import annotations

import re

from vctrain.data.groundtruth import GroundTruth
from vctrain.rewards.conventions import check_convention
from vctrain.rewards.parse import answer_text, think_text
from vctrain.rewards.tasks import GENERAL_TASKS, IMAGE_TASKS, TEMPORAL_TASKS

_STVG_FORMAT_RE = re.compile(r"<think>.*?</think>" + r"\s*" + r"<answer>.*?</answer>", re.S)
_IMAGE_QA_RE = re.compile(r"<obj>(\w+)</obj>" + r"<box>(\[.*?\])</box>")  # one line: `.` stops at a newline


def format_stvg(
    completion: str, gt: GroundTruth, *, progress: float = 0.0, convention: str = "default"
) -> dict[str, float]:
    """STVG-R1 and Time-R1 (the same test): 1 if the stripped text is exactly `<think>...</think>`, optional
    whitespace, `<answer>...</answer>`. Every convention agrees (the sources are sound here)."""
    check_convention(convention)
    return {"score": 1.0 if _STVG_FORMAT_RE.fullmatch(completion.strip()) else 0.0}


def format_visioncoach(
    completion: str, gt: GroundTruth, *, progress: float = 0.0, convention: str = "default"
) -> dict[str, float]:
    """VisionCoach: 0 unless `<think>` and `<answer>` are present and paired and `<obj>`/`<box>`/`<t>` are paired
    inside the reasoning; then 1.0 if grounded, else 0.5.

    Grounded: obj, box and t all present in the reasoning (temporal tasks: >= 2 `<t>` instead; image QA: that, or an
    `<obj>word</obj><box>[..]</box>` pair anywhere; general QA tasks: always). Every convention agrees.
    """
    check_convention(convention)
    think = think_text(completion)
    paired = (
        think is not None
        and answer_text(completion, "first") is not None
        and completion.count("<think>") == completion.count("</think>")
        and completion.count("<answer>") == completion.count("</answer>")
        and all(think.count(f"<{tag}>") == think.count(f"</{tag}>") for tag in ("obj", "box", "t"))
    )
    if not paired or think is None:
        return {"score": 0.0, "grounded": 0.0}
    n_time = think.count("<t>")
    if gt.task in TEMPORAL_TASKS:
        grounded = n_time >= 2
    elif gt.task in IMAGE_TASKS:  # reward_func.py format_reward: the pair *adds* a way to be grounded
        grounded = _IMAGE_QA_RE.search(completion) is not None or (
            think.count("<obj>") > 0 and think.count("<box>") > 0 and n_time > 0
        )
    elif gt.task in GENERAL_TASKS:
        grounded = True
    else:
        grounded = think.count("<obj>") > 0 and think.count("<box>") > 0 and n_time > 0
    return {"score": 1.0 if grounded else 0.5, "grounded": 1.0 if grounded else 0.0}
