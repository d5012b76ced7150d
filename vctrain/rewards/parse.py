"""Reading the model's text: answer tags, STVG-R1 answers, VisionCoach claims, `<t>` times, MCQ letters.

Deliberate fixes of the sources' parsing pitfalls (README, "Conventions"), each with a switch back where a user may need
the paper's behaviour to reproduce its numbers:
- `answer_tag`: STVG-R1 reads the *last* `<answer>`, VisionCoach the *first*; `"auto"` picks per task.
- `grammar="lenient"` (default) accepts STVG-R1's own prompt style `Target ID: [3]`, `[12 to 17]`, "to"/"and"/"-"
  with any spacing, unit suffixes (`12s`, `12 sec`) and numbers with a trailing dot (`12.`), as every source does.
- The other grammars read exactly what one source's parser reads, and reject what it rejects:
  `stvg_r1` (alias `paper`): the first `Target ID:` followed by digits and the first `Time range: s to|and e` anywhere
  in the answer, case-insensitive, any whitespace (or none) around the separator, trailing words ignored, and both
  parts required (STVG-R1's reward pays 0 for both when either is missing);
  `time_r1`: the *last* `s to|and e` of the answer with exactly one space on each side of the separator (no ID);
  `visioncoach`: the first `<t>s</t>s to <t>e</t>s` written exactly so (no ID).
- IDs are always compared as integers (the source compares an int with a string and never matches; not reproduced).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

AnswerTag = Literal["auto", "first", "last"]
Grammar = Literal["lenient", "stvg_r1", "paper", "time_r1", "visioncoach"]

STVG_TASKS = frozenset({"stvg"})
"""Tasks answered in STVG-R1's format (its parser reads the last `<answer>`)."""

_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.S)
_THINK_RE = re.compile(r"<think>(.*?)</think>", re.S)
_NUM = r"(?<![\d.])(\d+(?:\.\d*)?|\.\d+)"  # `12`, `12.5`, `12.` (a trailing dot), `.5`; never a tail of `1.2.3`
_UNIT = r"(?:\s*(?:seconds|second|secs|sec|s)\b)?"
_SEP = r"\s*(?:to|and|until|-|–|—|~|,)\s*"
_SPAN_RE = re.compile(rf"{_NUM}{_UNIT}{_SEP}{_NUM}{_UNIT}", re.I)
_LABELED_SPAN_RE = re.compile(rf"time\s*(?:range|span)?\s*[:：=]?\s*[\[(]?\s*{_NUM}{_UNIT}{_SEP}{_NUM}{_UNIT}", re.I)
_T_SPAN_RE = re.compile(rf"<t>\s*{_NUM}\s*</t>\s*s?{_SEP}<t>\s*{_NUM}\s*</t>", re.I)
_ID_RE = re.compile(r"\b(?:target\s*)?id\b\s*[:：=#]?\s*[\[(]?\s*#?\s*(\d+)", re.I)
# Source grammars, written from reading the parsers (each accepts digits, an optional dot and optional decimals):
_SOURCE_NUM = r"(\d+(?:\.\d*)?)"
_STVG_R1_ID_RE = re.compile(r"target id:" + r"\s*(\d+)", re.I)  # grpo_video.py, parse_timestamp_output, step 2
_STVG_R1_SPAN_RE = re.compile(rf"time range:\s*{_SOURCE_NUM}\s*(?:to|and)\s*{_SOURCE_NUM}", re.I)  # step 3
_TIME_R1_SPAN_RE = re.compile(rf"{_SOURCE_NUM} (?:to|and) {_SOURCE_NUM}", re.I)  # main.py, parse_timestamp_output
_VC_SPAN_RE = re.compile(rf"<t>{_SOURCE_NUM}</t>s to <t>{_SOURCE_NUM}</t>s")  # reward_func.py, ans_tiou_reward
_T_TAG_RE = re.compile(r"<t>(.*?)</t>", re.S)
_TIME_VALUE_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:s|sec|secs|seconds)?\s*", re.I)
_OBJ_RE = re.compile(r"<obj>(.*?)</obj>", re.S)
_BOX_RE = re.compile(r"<box>(.*?)</box>", re.S)
_INNER_LIST_RE = re.compile(r"\[([^\[\]]*)\]")
_SIGNED_NUM_RE = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def pick_answer_tag(task: str, answer_tag: AnswerTag) -> Literal["first", "last"]:
    """`auto`: last `<answer>` for STVG-R1 tasks (as its parser), first for VisionCoach tasks (as its parser)."""
    if answer_tag == "auto":
        return "last" if task in STVG_TASKS else "first"
    return answer_tag


def answer_text(text: str, which: Literal["first", "last"]) -> str | None:
    """Content of the first or last `<answer>...</answer>`, stripped; None when there is none."""
    found = _ANSWER_RE.findall(text)
    if not found:
        return None
    return (found[0] if which == "first" else found[-1]).strip()


def think_text(text: str) -> str | None:
    """Content of the first `<think>...</think>` (the sources read the first); None when there is none."""
    match = _THINK_RE.search(text)
    return None if match is None else match.group(1)


@dataclass(frozen=True)
class StvgAnswer:
    """A parsed STVG-R1 answer; a part that did not parse is None. `span_seconds` may be reversed (e < s)."""

    target_id: int | None
    span_seconds: tuple[float, float] | None

    @property
    def reversed(self) -> bool:
        return self.span_seconds is not None and self.span_seconds[1] < self.span_seconds[0]


def parse_span(answer: str, grammar: Grammar = "lenient") -> tuple[float, float] | None:
    """A time span in an answer. Lenient: `<t>s</t>s to <t>e</t>s` (VisionCoach), `Time range: s to e` (STVG-R1),
    then any `s to e` / `[s, e]` / `s-e` in the text. A source grammar reads what that source reads (module
    docstring). Order is kept, so a reversed span stays reversed."""
    if grammar in ("stvg_r1", "paper"):
        found = _STVG_R1_SPAN_RE.search(answer)
        return None if found is None else (float(found.group(1)), float(found.group(2)))
    if grammar == "time_r1":
        every = list(_TIME_R1_SPAN_RE.finditer(answer))  # non-overlapping, left to right; the last one is taken
        return None if not every else (float(every[-1].group(1)), float(every[-1].group(2)))
    if grammar == "visioncoach":
        found = _VC_SPAN_RE.search(answer)
        return None if found is None else (float(found.group(1)), float(found.group(2)))
    for pattern in (_T_SPAN_RE, _LABELED_SPAN_RE, _SPAN_RE):
        match = pattern.search(answer)
        if match:
            return float(match.group(1)), float(match.group(2))
    return None


def parse_stvg_answer(answer: str | None, *, grammar: Grammar = "lenient", both_required: bool = False) -> StvgAnswer:
    """Read `Target ID: k, Time range: s to e` (see the module docstring for what each grammar accepts).

    `both_required` reproduces STVG-R1: a missing ID or span voids both parts. The paper grammar implies it.
    """
    empty = StvgAnswer(None, None)
    if answer is None:
        return empty
    if grammar in ("stvg_r1", "paper"):
        found_id, span = _STVG_R1_ID_RE.search(answer), parse_span(answer, grammar)
        if found_id is None or span is None:
            return empty
        return StvgAnswer(int(found_id.group(1)), span)
    if grammar in ("time_r1", "visioncoach"):  # these sources answer a span only
        span = parse_span(answer, grammar)
        return empty if both_required else StvgAnswer(None, span)
    id_match = _ID_RE.search(answer)
    target_id = int(id_match.group(1)) if id_match else None
    rest = answer if id_match is None else answer[: id_match.start()] + " " + answer[id_match.end() :]
    span = parse_span(rest)
    if both_required and (target_id is None or span is None):
        return empty
    return StvgAnswer(target_id, span)


def parse_time_value(raw: str) -> float | None:
    """The number inside one `<t>...</t>` (an optional unit suffix allowed); None when it is not a plain time."""
    match = _TIME_VALUE_RE.fullmatch(raw)
    if not match:
        return None
    value = float(match.group(1))
    return value if math.isfinite(value) else None


def time_tags(text: str) -> list[float | None]:
    """Every `<t>` value in order; a malformed one is None (callers count it as a miss, never drop it)."""
    return [parse_time_value(raw) for raw in _T_TAG_RE.findall(text)]


def parse_box_tag(raw: str) -> list[tuple[float, float, float, float]] | None:
    """Boxes inside one `<box>...</box>`: `[x1,y1,x2,y2]` or several `[[...],[...]]`; None if any is malformed."""
    groups = _INNER_LIST_RE.findall(raw) or [raw]
    boxes: list[tuple[float, float, float, float]] = []
    for group in groups:
        if _SIGNED_NUM_RE.sub("", group).strip(" ,\t\n") != "":
            return None  # words or stray symbols: not a box
        numbers = [float(n) for n in _SIGNED_NUM_RE.findall(group)]
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            return None
        boxes.append((numbers[0], numbers[1], numbers[2], numbers[3]))
    return boxes or None


@dataclass(frozen=True)
class Claim:
    """One grounded mention `<obj>name</obj><box>[...]</box>...at<t>T</t>s` from the reasoning.

    `boxes` or `time_seconds` is None when that part is missing or malformed: the claim still counts (it scores 0),
    unlike the source, which drops such claims from the denominator for free.
    """

    name: str
    boxes: tuple[tuple[float, float, float, float], ...] | None
    time_seconds: float | None

    @property
    def valid(self) -> bool:
        return bool(self.boxes) and self.time_seconds is not None


def parse_claims(think: str) -> list[Claim]:
    """Split the reasoning at each `<obj>`; each claim owns the `<box>` tags and the first `<t>` before the next
    `<obj>` (spacing such as `at <t>` is accepted)."""
    claims: list[Claim] = []
    matches = list(_OBJ_RE.finditer(think))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(think)
        segment = think[match.end() : end]
        found: list[tuple[float, float, float, float]] = []
        boxes: list[tuple[float, float, float, float]] | None = found
        for raw in _BOX_RE.findall(segment):
            parsed = parse_box_tag(raw)
            if parsed is None:
                boxes = None
                break
            found.extend(parsed)
        times = _T_TAG_RE.findall(segment)
        time_seconds = parse_time_value(times[0]) if times else None
        claims.append(Claim(match.group(1).strip(), tuple(boxes) if boxes else None, time_seconds))
    return claims


# VisionCoach's claim grammar (reward_func.py, parse_temporal_spatial_reasoning_process): a name, one or more
# `<box>[...]</box>` written back to back, then `at<t>T</t>s` with no space; the name may run across tags.
_VC_CLAIM_RE = re.compile(r"<obj>(.*?)</obj>" + r"((?:<box>\[.*?\]</box>)+)" + r"at<t>(.*?)</t>s", re.S)
_VC_BOX_LITERAL_RE = re.compile(r"\[.*?\]")  # no DOTALL there: a box written across lines is not read
_VC_TIME_TAG_RE = re.compile(r"<t>([\d.]+)</t>s")  # thk_temporal_segment/point_reward


@dataclass(frozen=True)
class SourceClaim:
    """A claim as VisionCoach reads it: boxes are the decoded JSON values, unchecked (the IoU rejects bad ones)."""

    name: str
    boxes: tuple[Any, ...]
    time_seconds: float


def parse_claims_visioncoach(think: str) -> list[SourceClaim]:
    """Claims exactly as VisionCoach's parser yields them; a claim whose time is not a float or whose box text is not
    JSON is dropped (it leaves the reward's denominator, as in the source)."""
    claims: list[SourceClaim] = []
    for found in _VC_CLAIM_RE.finditer(think):
        try:
            time_seconds = float(found.group(3).strip())
            boxes = tuple(json.loads(raw) for raw in _VC_BOX_LITERAL_RE.findall(found.group(2)))
        except ValueError:  # json.JSONDecodeError is a ValueError
            continue
        claims.append(SourceClaim(found.group(1).strip(), boxes, time_seconds))
    return claims


def time_tags_visioncoach(text: str) -> list[float] | None:
    """Every `<t>digits-and-dots</t>s` as VisionCoach reads them; None when one of them is not a number (the source
    then scores the whole reasoning 0)."""
    try:
        return [float(raw) for raw in _VC_TIME_TAG_RE.findall(text)]
    except ValueError:
        return None


_LETTER_RE = re.compile(
    r"\s*(?:(?:correct\s+)?(?:option|answer|choice)\s*(?:is)?\s*[:：]?\s*)?"
    r"(?:\(\s*([A-Za-z])\s*\)|\[\s*([A-Za-z])\s*\]|([A-Za-z])(?=\s*(?:[.):：]|$)))",
    re.I,
)


def mcq_letter(text: str | None, options: tuple[str, ...] = ()) -> str | None:
    """An option letter, upper-cased: `X`, `X.`, `(X)`, `[X]`, `Option X`, `Correct Option: X`, `X. option text`;
    or the letter of an option whose text the answer repeats exactly. None otherwise ("A man walks" is no letter)."""
    if text is None:
        return None
    label = re.search(r"correct\s+option\s*[:：]?", text, re.I)
    candidate = text[label.end() :] if label else text
    candidate = candidate.strip().splitlines()[0] if candidate.strip() else ""
    match = _LETTER_RE.match(candidate)
    if match:
        return next(g for g in match.groups() if g).upper()
    normalised = " ".join(candidate.lower().split()).rstrip(".")
    for index, option in enumerate(options):
        if normalised and " ".join(option.lower().split()).rstrip(".") == normalised:
            return chr(ord("A") + index)
    return None
