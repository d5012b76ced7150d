"""The card written beside an export (OUT/README.md): what a user must know before launching a run on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vcprep.dataset.export import ExportResult
    from vcprep.dataset.export_media import PathStyle


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
            f"Counted with `{budget.processor}` (min_pixels {budget.min_pixels}, max_pixels {budget.max_pixels}).",
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
