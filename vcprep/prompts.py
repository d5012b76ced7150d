"""Prompt and answer texts per task, read from versioned YAML templates (not code)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    system: str
    user: str
    answer: str


@cache
def load_template(task: str) -> PromptTemplate:
    path = TEMPLATE_DIR / f"{task}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml"))
        raise KeyError(f"no prompt template for task {task!r}; known: {known}")
    data = yaml.safe_load(path.read_text())
    return PromptTemplate(task, int(data["version"]), data["system"], data["user"], data.get("answer", ""))


def user_prompt(template: PromptTemplate, *, question: str, hint: str, span_seconds: tuple[float, float]) -> str:
    """The user turn; `<video>` marks where the frames go. Times are seconds of the source video."""
    hint_sentence = f" {hint}" if hint else ""
    return template.user.format(
        question=question, hint_sentence=hint_sentence, start=span_seconds[0], end=span_seconds[1]
    )


def stvg_answer(template: PromptTemplate, target_id: int | None, span: tuple[float, float] | None) -> str | None:
    """STVG-R1's answer text, or None when the target was never tracked or there is no span."""
    if target_id is None or span is None:
        return None
    return template.answer.format(target_id=target_id, start=span[0], end=span[1])
