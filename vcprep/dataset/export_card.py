"""What an export reports: its result (counts, timing note, token statistics, warnings) and the card written
beside it (OUT/README.md), what a user must know before launching a run on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vcprep.dataset.prompt_tokens import QWEN_VL_UTILS_VERSION, TokenReport

if TYPE_CHECKING:
    from vcprep.dataset.export_media import PathStyle


@dataclass
class ExportResult:
    """Where the export went, how much it holds and how the framework gets the frame times."""

    path: Path
    rows: int
    frames: int
    note: str
    """How the framework gets the frame times (printed by the CLI)."""
    uneven_rows: list[str] = field(default_factory=list)
    """`sample_id/variant` of video rows whose frames are unevenly spaced (a `max_frames` cap thinned them): one rate
    gives Qwen2.5-VL their mean spacing, not each frame's time."""
    max_rate_fps: float = 0.0
    """The fastest row rate (EasyR1 video rows: `data.video_fps` must be at least this)."""
    tokens: TokenReport | None = None
    """Prompt tokens per row, when a processor was named."""
    card: Path | None = None
    untimed: str | None = None
    """Why the frames' times cannot reach the named model through this layout (EasyR1 video rows for Qwen3-VL)."""

    def warnings(self) -> list[str]:
        """What a user must know before launching: rows one rate cannot time exactly, rows a length limit drops,
        a layout that cannot give the named model its frames' times."""
        lines = [f"warning: {self.untimed}"] if self.untimed else []
        if self.uneven_rows:
            lines.append(f"warning: {len(self.uneven_rows)} rows have unevenly spaced frames (thinned by max_frames); "
                         f"Qwen2.5-VL is told their mean rate ({_names(self.uneven_rows)}); Qwen3-VL through "
                         "verl's vctrain dataset class and image-frame rows keep every frame's exact time")
        if self.tokens is not None:
            over = self.tokens.over_limit()
            if over:
                limit = self.tokens.budget.max_prompt_length
                lines.append(f"warning: {len(over)} rows exceed max_prompt_length {limit}; verl and EasyR1 drop them "
                             f"(or cut them with filtering off): "
                             + ", ".join(f"{k} ({self.tokens.per_row[k]} tokens)" for k in over[:20])
                             + (" ..." if len(over) > 20 else ""))
        return lines

    def summary(self) -> str:
        """What the CLI prints: counts, the timing note, token statistics and warnings."""
        lines = [f"wrote {self.path} ({self.rows} rows, {self.frames} frames)", self.note]
        if self.max_rate_fps:
            lines.append(f"fastest row rate: {self.max_rate_fps:g} fps")
        if self.tokens is not None:
            st = self.tokens.stats()
            lines.append(f"prompt tokens per row ({self.tokens.budget.processor}): min {st['min']}, "
                         f"median {st['median']:g}, max {st['max']}")
        return "\n".join(lines + self.warnings())


def _names(keys: list[str], limit: int = 10) -> str:
    return ", ".join(keys[:limit]) + (" ..." if len(keys) > limit else "")


def render_export_card(result: ExportResult, *, dataset: str, to: str, frames_as: str, paths: PathStyle) -> str:
    """Markdown: source, layout, how paths resolve, how frame times reach the model, prompt tokens, warnings."""
    where = "absolute" if paths.absolute else f"relative to `{paths.root}`"
    lines = [
        f"# {to} export of `{dataset}`",
        "",
        f"- rows: {result.rows}; frames: {result.frames}; frames reach the model as: {frames_as}",
        f"- file paths in the rows: {where}",
        f"- {result.note}",
    ]
    if result.max_rate_fps:
        lines.append(f"- fastest row rate: {result.max_rate_fps:g} fps")
    if result.tokens is not None:
        budget, st = result.tokens.budget, result.tokens.stats()
        lines += [
            "",
            "## Prompt tokens per row",
            "",
            f"Counted with `{budget.processor}` (min_pixels {budget.min_pixels}, max_pixels {budget.max_pixels}): "
            f"video frames resized as qwen-vl-utils {QWEN_VL_UTILS_VERSION} resizes them (a frame list for verl, a "
            "clip file for EasyR1), then the processor with its own limits; images by the processor within the "
            "pixel limits.",
            "",
            "| min | median | max | rows | max_prompt_length |",
            "|---|---|---|---|---|",
            f"| {st['min']} | {st['median']:g} | {st['max']} | {len(result.tokens.per_row)} | "
            f"{budget.max_prompt_length} |",
        ]
    warnings = result.warnings()
    if warnings:
        lines += ["", "## Warnings", "", *(f"- {w.removeprefix('warning: ')}" for w in warnings)]
    return "\n".join(lines) + "\n"
