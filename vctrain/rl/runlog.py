"""Per-step metrics to JSONL (one object a line, append-only so resumed runs continue the file) and TensorBoard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class RunLog:
    """Rank 0 writes; other ranks hold a RunLog that does nothing, so the loop needs no rank checks."""

    def __init__(self, output_dir: str | Path, *, enabled: bool, tensorboard: bool) -> None:
        self.enabled = enabled
        self.path = Path(output_dir) / "metrics.jsonl"
        self.writer: Any = None
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if tensorboard:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(Path(output_dir) / "tb"))

    def truncate_after(self, step: int) -> None:
        """Drop lines of steps > `step` (written after the checkpoint we resume from), keeping the log exact."""
        if not self.enabled or not self.path.is_file():
            return
        kept = [line for line in self.path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
        self.path.write_text("".join(line + "\n" for line in kept))

    def log(self, step: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        with self.path.open("a") as fh:
            fh.write(json.dumps({"step": step, **metrics}, sort_keys=True) + "\n")
        if self.writer is not None:
            for key, value in metrics.items():
                self.writer.add_scalar(key, value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(output_dir: str | Path) -> list[dict[str, float]]:
    """The metrics.jsonl of a run as a list of dicts (one per step)."""
    path = Path(output_dir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
