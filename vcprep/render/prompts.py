"""Prompt and answer texts per task, read from versioned YAML templates (not code).

One template file per task in `vcprep/render/templates/` (`stvg`, `temporal_qa`, `temporal_mcq`,
`st_free_form`, `st_grounding`, `general_mcq`, `general_free_form`). Each holds the system
turn, the user turn (with `<video>` where the frames go) and the answer format; the version
number is stored in every row, so a change of wording is visible in the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

TEMPLATE_DIR = Path(__file__).parent / "templates"
OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class UnknownTaskError(ValueError):
    """A sample names a task that has no template (a bad record, reported and skipped)."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    system: str
    user: str
    answer: str
    claim: str = ""
    """Format of one grounding claim (`st_grounding`); empty for tasks without claims."""


@dataclass(frozen=True)
class GroundingClaim:
    """One ground-truth box as the model should state it: stored-frame pixels, seconds."""

    name: str
    time_seconds: float
    xyxy: tuple[float, float, float, float]


def known_tasks() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml"))


@cache
def load_template(task: str) -> PromptTemplate:
    path = TEMPLATE_DIR / f"{task}.yaml"
    if not path.is_file():
        raise UnknownTaskError(f"no prompt template for task {task!r}; known: {known_tasks()}")
    data = yaml.safe_load(path.read_text())
    return PromptTemplate(
        task, int(data["version"]), data["system"], data["user"], data.get("answer", ""), data.get("claim", ""),
    )


def options_block(options: Sequence[str]) -> str:
    """Options as lines `A. text`; options that already start with their letter are kept as given."""
    lines = []
    for letter, option in zip(OPTION_LETTERS, options):
        text = str(option).strip()
        starts_lettered = len(text) > 1 and text[0] == letter and text[1] in ".):"
        lines.append(text if starts_lettered else f"{letter}. {text}")
    return ("\nOptions:\n" + "\n".join(lines)) if lines else ""


def user_prompt(
    template: PromptTemplate, *, question: str, hint: str, span_seconds: tuple[float, float],
    options: Sequence[str] = (),
) -> str:
    """The user turn; `<video>` marks where the frames go. Times are seconds of the source video."""
    hint_sentence = f" {hint}" if hint else ""
    return template.user.format(
        question=question, hint_sentence=hint_sentence, start=span_seconds[0], end=span_seconds[1],
        options_block=options_block(options),
    )


def stvg_answer(template: PromptTemplate, target_id: int | None, span: tuple[float, float] | None) -> str | None:
    """STVG-R1's answer text, or None when the target was never tracked or there is no span."""
    if target_id is None or span is None:
        return None
    return template.answer.format(target_id=target_id, start=span[0], end=span[1])


def task_answer(
    template: PromptTemplate, *, target_id: int | None = None, span: tuple[float, float] | None = None,
    option: str | None = None, text: str | None = None, claims: Sequence[GroundingClaim] = (),
) -> str | None:
    """The answer text in the task's format, or None when a field it needs is unknown.

    `stvg` needs the matched track ID and the span; `temporal_qa` the span; `temporal_mcq`
    the span and the option letter; `general_mcq` the letter; free-form tasks the text;
    `st_grounding` at least one claim. Times are printed with two decimals.
    """
    if template.name == "stvg":
        return stvg_answer(template, target_id, span)
    claim_text = "".join(
        template.claim.format(name=c.name, time=c.time_seconds, x1=c.xyxy[0], y1=c.xyxy[1], x2=c.xyxy[2],
                              y2=c.xyxy[3])
        for c in claims
    ) if template.claim else ""
    fields = {
        "start": span[0] if span else None, "end": span[1] if span else None,
        "option": option, "text": text, "claims": claim_text or None, "target_id": target_id,
    }
    needed = [name for name in ("start", "end", "option", "text", "claims", "target_id")
              if "{" + name in template.answer]
    if any(fields[name] is None for name in needed):
        return None
    return template.answer.format(**{k: v for k, v in fields.items() if v is not None})
