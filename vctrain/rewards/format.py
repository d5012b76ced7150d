"""Format rewards: does the completion have the shape the method asks for (SPEC sections 3 and 4)?"""

from __future__ import annotations

import re

from vctrain.groundtruth import GroundTruth
from vctrain.rewards.parse import answer_text, think_text

_STVG_FORMAT_RE = re.compile(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", re.S)
_IMAGE_QA_RE = re.compile(r"<obj>(\w+)</obj><box>(\[.*?\])</box>", re.S)
TEMPORAL_TASKS = frozenset({"temporal_qa", "temporal_mcq"})
"""VisionCoach tasks whose grounding is time only: >= 2 `<t>` tags count as grounded."""
GENERAL_TASKS = frozenset({"mcq", "video_qa", "general_qa", "general_mcq", "general_free_form"})
"""VisionCoach's "General video QA" tasks: well-paired tags alone earn the full format reward."""


def format_stvg(completion: str, gt: GroundTruth, *, progress: float = 0.0) -> dict[str, float]:
    """STVG-R1: 1 if the whole text is `<think>...</think> <answer>...</answer>` (surrounding whitespace allowed)."""
    return {"score": 1.0 if _STVG_FORMAT_RE.fullmatch(completion) else 0.0}


def format_visioncoach(completion: str, gt: GroundTruth, *, progress: float = 0.0) -> dict[str, float]:
    """VisionCoach: 0 unless `<think>` and `<answer>` are present and paired and `<obj>`/`<box>`/`<t>` are paired
    inside the reasoning; then 1.0 if grounded, else 0.5.

    Grounded: obj, box and t all present (temporal tasks: >= 2 `<t>`; image QA: an `<obj>name</obj><box>[..]</box>`
    pair anywhere; general QA tasks: always).
    """
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
    elif gt.task == "image_qa":
        grounded = _IMAGE_QA_RE.search(completion) is not None
    elif gt.task in GENERAL_TASKS:
        grounded = True
    else:
        grounded = think.count("<obj>") > 0 and think.count("<box>") > 0 and n_time > 0
    return {"score": 1.0 if grounded else 0.5, "grounded": 1.0 if grounded else 0.0}
