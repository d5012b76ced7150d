"""The toolkit's own generic format: one JSON object per line.

    {"id": "vtest-walker-1", "video": "vtest.avi", "question": "...", "task": "stvg",
     "span_seconds": [3.0, 9.5], "clip_seconds": [0, 20],
     "boxes": {"30": [x1, y1, x2, y2], ...}, "objects": ["person"]}

`boxes` are keyed by 0-based source frame index, xyxy in source pixels; `span_seconds` is
the ground-truth span. Only `id`, `video` and `question` are required. Optional: `options`,
`answer` (MCQ letter or free-form text, per `task`), and multi-object `key_items`
`[{"name": "man", "time": 5.2, "box": [x1, y1, x2, y2], "normalized": false}]` (time in
seconds of the source video; `normalized` boxes are fractions of the frame).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vcprep.core.errors import ErrorRecord
from vcprep.core.types import KeyItem, Sample
from vcprep.sources.common import RecordError, parse_json_line, text_lines


def _span(value: Any, what: str) -> tuple[float, float] | None:
    if value is None:
        return None
    s, e = (float(v) for v in value)
    if not (math.isfinite(s) and math.isfinite(e)) or s < 0 or e < s:
        raise ValueError(f"{what} must be finite with 0 <= start <= end, got {value}")
    return (s, e)


def parse_key_items(raw: list[dict[str, Any]]) -> tuple[KeyItem, ...]:
    items = []
    for i, item in enumerate(raw):
        normalized = bool(item.get("normalized", False))
        x1, y1, x2, y2 = (float(v) for v in item["box"])
        t = float(item["time"])
        finite = all(math.isfinite(v) for v in (t, x1, y1, x2, y2))  # NaN passes every comparison below
        if not finite or t < 0 or min(x1, y1) < 0 or x2 <= x1 or y2 <= y1 or (normalized and max(x2, y2) > 1):
            raise ValueError(f"key_items[{i}] needs time >= 0 and a box with 0 <= x1 < x2, 0 <= y1 < y2: {item}")
        items.append(KeyItem(name=str(item["name"]), time_seconds=t, xyxy=(x1, y1, x2, y2), normalized=normalized))
    return tuple(items)


def parse_boxes(raw: dict[str, Any]) -> dict[int, tuple[float, float, float, float]]:
    boxes: dict[int, tuple[float, float, float, float]] = {}
    for key, box in raw.items():
        frame = int(key)
        x1, y1, x2, y2 = (float(v) for v in box)
        if frame < 0 or not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            raise ValueError(f"box on frame {key} is not finite or has a negative frame: {box}")
        if min(x1, y1) < 0 or x2 <= x1 or y2 <= y1:
            raise ValueError(f"box on frame {key} must satisfy 0 <= x1 < x2 and 0 <= y1 < y2: {box}")
        boxes[frame] = (x1, y1, x2, y2)
    return boxes


class JsonlSource:
    def __init__(self, *, annotations: str, source_name: str = "jsonl") -> None:
        """
        Args:
            annotations: the JSON-lines file (the recipe's `source.annotations`).
            source_name: the `source` recorded in each row.
        """
        self.path = Path(annotations)
        self.source_name = source_name

    def iter_samples(self) -> Iterator[Sample | ErrorRecord]:
        if not self.path.is_file():
            yield ErrorRecord("source", str(self.path), "", "annotation file not found")
            return
        for lineno, line in text_lines(self.path):
            key = f"line {lineno}"
            if isinstance(line, RecordError):
                yield ErrorRecord("source", f"{self.path}:{lineno}", key, f"malformed record: {line}")
                continue
            if not line.strip():
                continue
            try:
                rec = parse_json_line(line)
                key = str(rec.get("id", key))
                yield self.parse(rec)
            except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
                yield ErrorRecord("source", f"{self.path}:{lineno}", key, f"malformed record: {exc}")

    def parse(self, rec: dict[str, Any]) -> Sample:
        for required in ("id", "video", "question"):
            if not rec.get(required):
                raise KeyError(f"missing {required!r}")
        return Sample(
            sample_id=str(rec["id"]),
            video_path=str(rec["video"]),
            question=str(rec["question"]),
            task=str(rec.get("task", "stvg")),
            source=self.source_name,
            gt_span_seconds=_span(rec.get("span_seconds"), "span_seconds"),
            gt_boxes=parse_boxes(rec.get("boxes") or {}),
            clip_span_seconds=_span(rec.get("clip_seconds"), "clip_seconds"),
            object_names=tuple(rec.get("objects") or ()),
            options=tuple(rec.get("options") or ()),
            answer=rec.get("answer"),
            extra={k: v for k, v in rec.items() if k.startswith("x_")},
            key_items=parse_key_items(rec.get("key_items") or []),
        )
