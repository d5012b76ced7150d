"""What `vctrain eval` wrote (its JSON report), read for the model-answers pages.

vcprep never imports vctrain; the report's JSON is the contract: `metrics`, `variant`, and `samples`, one
record per evaluated row with `sample_id`, `text`, `claims`, `pred_id`, `pred_span_seconds`, `pred_boxes`
({frame_index: box}), `tiou`, `viou` and `rewards` ({name: value}).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORT_NAME = "eval.json"
"""What `vctrain eval` writes into the checkpoint folder when `eval.output` is not set."""


class EvalRunError(RuntimeError):
    """The run folder or report cannot be used (missing, not JSON, no per-sample records)."""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


@dataclass
class EvalRun:
    """One evaluation report: its metrics and per-sample records keyed by sample id."""

    path: Path
    variant: str
    metrics: dict[str, Any]
    records: dict[str, dict[str, Any]]

    @classmethod
    def open(cls, run: str | Path) -> EvalRun:
        run = Path(run)
        path = run / REPORT_NAME if run.is_dir() else run
        if not path.is_file():
            where = f"{run} holds no {REPORT_NAME}" if run.is_dir() else f"{run}: no such eval run"
            raise EvalRunError(f"{where} (pass a `vctrain eval` output: the checkpoint folder or the report's JSON)")
        try:
            report = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EvalRunError(f"{path}: not valid JSON ({exc})") from None
        samples = report.get("samples") if isinstance(report, dict) else None
        if not isinstance(samples, list):
            raise EvalRunError(f"{path}: no `samples` list: not a `vctrain eval` report")
        records = {}
        for record in samples:
            if isinstance(record, dict) and isinstance(record.get("sample_id"), str):
                records[record["sample_id"]] = record
        return cls(path, str(report.get("variant") or ""), report.get("metrics") or {}, records)

    def row(self, sample_id: str) -> dict[str, Any] | None:
        """The list row of one sample: answer, parsed ID and span, metrics and every reward."""
        record = self.records.get(sample_id)
        if record is None:
            return None
        rewards = {k: _number(v) for k, v in (record.get("rewards") or {}).items() if not k.endswith("/failed")}
        return {
            "sample_id": sample_id, "task": record.get("task"), "text": record.get("text", ""),
            "pred_id": record.get("pred_id"), "pred_span_seconds": record.get("pred_span_seconds"),
            "tiou": _number(record.get("tiou")), "viou": _number(record.get("viou")),
            "reward": rewards.get("total"), "rewards": rewards, "claims": record.get("claims") or [],
        }  # fmt: skip

    def pred_box_at(self, sample_id: str, pts_seconds: float, frame_track_ids: list[int],
                    frame_track_boxes: list[list[float]]) -> list[float] | None:
        """The answer's box on a stored frame: the predicted ID's box among the frame's tracks when the frame's
        time is inside the predicted span (as `vctrain eval` turns an ID and a span into boxes)."""
        record = self.records.get(sample_id) or {}
        pred_id, span = record.get("pred_id"), record.get("pred_span_seconds")
        if not isinstance(pred_id, int) or not isinstance(span, list) or len(span) != 2:
            return None
        if not float(span[0]) - 1e-9 <= pts_seconds <= float(span[1]) + 1e-9:
            return None
        for track, box in zip(frame_track_ids or [], frame_track_boxes or []):
            if int(track) == pred_id:
                return [float(v) for v in box]
        return None
