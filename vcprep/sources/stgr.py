"""STGR (VisionCoach / Open-o3-Video spatio-temporal grounded reasoning data).

Upstream files (`STGR-RL.json`, `STGR-SFT.json`): a list of

    {"id": "...", "source": "...", "task": "temporal-spatial free-form QA", "question": "...",
     "answer": "...", "video_path": "stgr/plm/videos/x.mp4",
     "key_frames": [{"idx": 3, "time": 4.5, "path": "..."}],
     "key_items": {"3": {"man": [[0.10, 0.20, 0.45, 0.90]], "dog": [[...], [...]]}}}

Conventions resolved here:
- `key_items` is keyed by a key frame's `idx` (as a string); each object maps to a list of
  boxes, xyxy **normalised** to [0, 1] of the frame. The key frame's `time` (seconds) is the
  authority for where a box lives; the render stage maps it to the nearest source frame and
  scales the boxes to pixels once the video's size is known.
- upstream task names map to the toolkit's: `temporal QA` -> `temporal_qa` (answer `"[s, e]"`),
  `temporal QA (MCQ)` -> `temporal_mcq` (answer `"X\\n[s, e]"`), `temporal-spatial free-form QA`
  -> `st_free_form`, `General video QA MCQ` -> `general_mcq` (answer: the letter),
  `General video QA Free-form` -> `general_free_form`. Image records (`visual QA`) are reported
  and skipped: this toolkit builds video rows.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vcprep.core.errors import ErrorRecord
from vcprep.core.types import KeyItem, Sample
from vcprep.sources.common import (
    RecordError,
    check_span,
    guarded,
    load_top_level,
    number,
    require,
    video_under,
    xyxy_from_list,
)

TASKS = {
    "temporal QA": "temporal_qa",
    "temporal QA (MCQ)": "temporal_mcq",
    "temporal-spatial free-form QA": "st_free_form",
    "General video QA MCQ": "general_mcq",
    "General video QA Free-form": "general_free_form",
}


def parse_span_text(text: str) -> tuple[float, float]:
    """`"[12.5, 17.0]"` (STGR's temporal answers) to a checked span in seconds."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError) as exc:
        raise RecordError(f"span answer is not a [start, end] list: {text!r}") from exc
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise RecordError(f"span answer is not a [start, end] list: {text!r}")
    return check_span(number(value[0], "span start"), number(value[1], "span end"), "answer span")


def parse_option(text: str) -> str:
    """The option letter of an MCQ answer; accepts `B`, `B.`, `(B)`, `[B]`."""
    letter = text.strip().strip("()[]").rstrip(".").strip()
    if len(letter) != 1 or not letter.isalpha():
        raise RecordError(f"MCQ answer is not a single option letter: {text!r}")
    return letter.upper()


class StgrSource:
    def __init__(self, *, annotations: str, video_dir: str = "") -> None:
        """
        Args:
            annotations: STGR's JSON list (`STGR-RL.json`, `STGR-SFT.json`; the recipe's `source.annotations`).
            video_dir: folder under the data root that the records' `video_path` is relative to.
        """
        self.path = Path(annotations)
        self.video_dir = video_dir

    def iter_samples(self) -> Iterator[Sample | ErrorRecord]:
        data = load_top_level(self.path, list, "a JSON list of records")
        if isinstance(data, ErrorRecord):
            yield data
            return
        for i, rec in enumerate(data):
            key = str(rec.get("id", f"record {i}")) if isinstance(rec, dict) else f"record {i}"
            yield from guarded(self.path, key, self.parse, rec)

    def key_items(self, rec: dict[str, Any]) -> tuple[KeyItem, ...]:
        times = {}
        for j, kf in enumerate(rec.get("key_frames") or []):
            times[str(int(number(kf["idx"], f"key_frames[{j}].idx")))] = number(kf["time"], f"key_frames[{j}].time")
        items = []
        for idx, objects in (rec.get("key_items") or {}).items():
            if str(idx) not in times:
                raise RecordError(f"key_items frame {idx!r} has no entry in key_frames")
            if not isinstance(objects, dict):
                raise RecordError(f"key_items[{idx!r}] must map object names to box lists")
            for name, boxes in objects.items():
                if not isinstance(boxes, list) or not boxes:
                    raise RecordError(f"key_items[{idx!r}][{name!r}] must be a non-empty list of boxes")
                if all(isinstance(v, (int, float)) for v in boxes):  # a single box written flat
                    boxes = [boxes]
                for k, box in enumerate(boxes):
                    xyxy = xyxy_from_list(box, f"key_items[{idx!r}][{name!r}][{k}]", normalized=True)
                    items.append(KeyItem(name=str(name), time_seconds=times[str(idx)], xyxy=xyxy, normalized=True,
                                         frame_index=None))
        return tuple(items)

    def parse(self, rec: Any) -> Sample:
        require(rec, "id", "task", "question")
        upstream_task = str(rec["task"])
        if upstream_task == "visual QA" or (rec.get("image_path") and not rec.get("video_path")):
            raise RecordError("image record (visual QA): only video records are built into rows")
        if upstream_task not in TASKS:
            raise RecordError(f"unknown STGR task {upstream_task!r}; known: {sorted(TASKS)}")
        require(rec, "video_path")
        task = TASKS[upstream_task]
        answer_text = str(rec.get("answer") or "")
        span, option, answer = None, None, None
        if task == "temporal_qa":
            span = parse_span_text(answer_text)
        elif task == "temporal_mcq":
            letter, _, span_text = answer_text.partition("\n")
            option, span = parse_option(letter), parse_span_text(span_text)
        elif task == "general_mcq":
            option = parse_option(answer_text)
        else:
            answer = answer_text.strip() or None
        items = self.key_items(rec)
        return Sample(
            sample_id=f"stgr-{rec['id']}",
            video_path=video_under(self.video_dir, str(rec["video_path"])),
            question=str(rec["question"]).strip(),
            task=task,
            source="stgr",
            gt_span_seconds=span,
            object_names=tuple(dict.fromkeys(i.name for i in items)),
            answer=option or answer,
            key_items=items,
            extra={"spotlight_focus": "all",  # VisionCoach darkens around every key object
                   "x_stgr_task": upstream_task, "x_stgr_source": rec.get("source"),
                   "x_stgr_key_frames": [{"idx": kf.get("idx"), "time": kf.get("time")}
                                         for kf in rec.get("key_frames") or []]},
        )
