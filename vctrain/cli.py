"""`vctrain` command line: grpo (train), eval (metrics on an eval shard folder), build-tiny (test model), selector
(label / train / predict the Visual Prompt Selector)."""

from __future__ import annotations

from pathlib import Path

import typer

from vctrain.selector.cli import selector_app

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help=__doc__)
app.add_typer(selector_app, name="selector")


@app.command()
def grpo(
    config: Path = typer.Argument(..., help="YAML config (see vctrain/config.py for every key)."),
    overrides: list[str] = typer.Argument(None, help="key.sub=value overrides, e.g. loss.algorithm=gspo steps=50"),
) -> None:
    """Train with GRPO or GSPO; run it under `torchrun --nproc_per_node N` for DDP."""
    from vctrain.config import load_config
    from vctrain.train import train

    try:
        result = train(load_config(config, overrides or []))
    except (FileNotFoundError, ValueError, KeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if result.steps_done:
        typer.echo(f"{result.output_dir}: {result.steps_done} steps; last checkpoint {result.last_checkpoint}")


@app.command("eval")
def evaluate_cmd(
    config: Path = typer.Argument(..., help="YAML config; its `eval:` section sets the metric conventions."),
    checkpoint: Path = typer.Option(
        ..., "--checkpoint", help="A checkpoint folder (step-N or its model/) or HF model."
    ),
    overrides: list[str] = typer.Argument(None, help="key.sub=value overrides, e.g. eval.strict_threshold=true"),
) -> None:
    """Generate on the evaluation shards and report SPEC section 7 metrics (JSON + table)."""
    from vctrain.config import load_config
    from vctrain.evaluate import evaluate, format_table

    try:
        report = evaluate(load_config(config, overrides or []), checkpoint)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(format_table(report))


@app.command("build-tiny")
def build_tiny(
    out: Path = typer.Argument(..., help="Folder to write the tiny model + processor into."),
    seed: int = typer.Option(0, help="Initialisation seed."),
) -> None:
    """Build a tiny randomly initialised Qwen2.5-VL (about 0.2 M parameters) for tests and dry runs."""
    from vctrain.tiny import build_tiny_qwen25vl

    typer.echo(str(build_tiny_qwen25vl(out, seed=seed)))


if __name__ == "__main__":
    app()
