"""`vctrain` command line: grpo (train), eval (metrics on an eval shard folder), plan (memory per GPU before
renting any), build-tiny (test model), selector (label / train / predict the Visual Prompt Selector)."""

from __future__ import annotations

from pathlib import Path

import typer

from vctrain.selector.cli import selector_app
from vctrain.usage_errors import usage_errors

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help=__doc__)
app.add_typer(selector_app, name="selector")


@app.command()
def grpo(
    config: Path = typer.Argument(..., help="YAML config (see vctrain/config.py for every key)."),
    overrides: list[str] = typer.Argument(None, help="key.sub=value overrides, e.g. loss.algorithm=gspo steps=50"),
) -> None:
    r"""Train a Hugging Face VLM with GRPO or GSPO on vcprep shard folders.

    CONFIG is a YAML file: example configs/grpo_demo.yaml, every key and its
    meaning in vctrain/config.py. Each override key.sub=value replaces one key,
    the value read as YAML: steps=50, loss.algorithm=gspo, loss.beta=0 (no KL,
    no reference model), data.variant=column:NAME, data.shards=\[a,b].

    The run folder (output_dir) gets config.yaml, metrics.jsonl (one line per
    step: every reward sub-score, KL, clip fraction, response length, phase
    times), tb/ (TensorBoard) and checkpoints/step-NNNNNN/. Running the same
    command again resumes exactly from the newest checkpoint (resume=never
    starts over).

    DDP: torchrun --nproc_per_node N -m vctrain grpo CONFIG \[overrides]
    (gloo on CPU, nccl on GPUs). FSDP (sharded weights, gradients and
    optimizer states, for 7B models): add train.strategy=fsdp, optionally
    train.cpu_offload=true; several nodes: torchrun --nnodes M
    --node_rank R --rdzv_endpoint HOST:PORT ... with the same arguments.
    `vctrain plan CONFIG --gpus N --gpu-memory-gb M` says which fits.
    """
    from vctrain.config import load_config
    from vctrain.rl.train import train

    try:
        result = train(load_config(config, overrides or []))
    except usage_errors() as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if result.steps_done:
        typer.echo(f"{result.output_dir}: {result.steps_done} steps; last checkpoint {result.last_checkpoint}")


@app.command("eval")
def evaluate_cmd(
    config: Path = typer.Argument(..., help="YAML config; its `eval:` section sets the metric conventions."),
    checkpoint: Path = typer.Option(
        ...,
        "--checkpoint",
        help="A checkpoint folder (runs/X/checkpoints/step-N or its model/) or a Hugging Face model folder.",
    ),
    overrides: list[str] = typer.Argument(
        None, help="key.sub=value overrides, e.g. eval.comparison='>=' eval.max_samples=50"
    ),
) -> None:
    """Generate greedy answers on evaluation shards; report the grounding metrics (tIoU, vIoU, vIoU@R, R@1, V-STaR).

    Reads eval.shards (default: data.shards) in the prompt variant eval.variant
    (default raw). STVG answers (an ID and a span) become boxes from the tracks
    stored in the shards; temporal answers get Charades-STA R@1 and mIoU; every
    configured reward is averaged too.

    Conventions are eval.* overrides: eval.comparison='>=' (STVG-R1's vIoU@R;
    default '>' as TubeDETR); eval.grid=fps eval.eval_fps=5
    eval.max_eval_frames=200 (TubeDETR); eval.span_frames=truncate;
    eval.tiou_unit=frames; eval.max_samples=N.

    The JSON report goes to eval.output (default CHECKPOINT/eval.json) and a
    table is printed.
    """
    from vctrain.config import load_config
    from vctrain.evaluation.evaluate import evaluate, format_table

    try:
        report = evaluate(load_config(config, overrides or []), checkpoint)
    except usage_errors() as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(format_table(report))


@app.command("plan")
def plan_cmd(
    config: Path = typer.Argument(..., help="YAML training config (model.path needs only a config.json)."),
    overrides: list[str] = typer.Argument(None, help="key.sub=value overrides, e.g. rollout.group_size=4"),
    gpus: int = typer.Option(8, "--gpus", min=1, max=1_000_000, help="GPUs (ranks) in the job."),
    gpu_memory_gb: float = typer.Option(80.0, "--gpu-memory-gb", min=1.0, max=1e6, help="Memory of one GPU in GB."),
    prompt_text_tokens: int = typer.Option(200, min=0, max=1 << 20, help="Text tokens of a prompt besides the video."),
) -> None:
    """Memory per GPU of a training config for DDP, FSDP and FSDP with CPU offload, before renting any.

    Builds the configured model on the meta device from its config.json (no
    weights are read) and prints GiB per rank for weights, gradients, AdamW
    states, the frozen reference, FSDP's gathered working set and the
    activations of one group (data.max_frames x data.max_pixels_per_frame,
    rollout.group_size x rollout.max_new_tokens, model.gradient_checkpointing),
    then the strategy that fits. Formulas: vctrain/scale/plan.py.
    """
    from vctrain.config import load_config
    from vctrain.scale.plan import format_plans, model_shape, plans_for, workload_from_config

    try:
        cfg = load_config(config, overrides or [])
    except usage_errors() as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        shape = model_shape(cfg.model.path)
    except (OSError, ValueError, KeyError) as exc:  # model.path's config.json: missing, not JSON, lacking a size
        typer.echo(f"error: model.path: {exc}", err=True)
        raise typer.Exit(2) from exc
    work = workload_from_config(cfg, prompt_text_tokens, bf16=cfg.model.precision != "fp32")
    plans = plans_for(shape, work, gpus, reshard_after_forward=cfg.train.reshard_after_forward)
    typer.echo(format_plans(shape, work, plans, gpu_memory_gb))


@app.command("build-tiny")
def build_tiny(
    out: Path = typer.Argument(..., help="Folder to write the tiny model + processor into."),
    seed: int = typer.Option(0, help="Initialisation seed."),
    family: str = typer.Option("qwen2.5-vl", help="Model family: qwen2.5-vl or qwen3-vl (transformers 5)."),
) -> None:
    """Build a tiny randomly initialised Qwen2.5-VL or Qwen3-VL (about 0.2 M parameters) for tests and dry runs."""
    from vctrain.tools.tiny import TINY_FAMILIES

    if family not in TINY_FAMILIES:
        typer.echo(f"error: unknown family {family!r}; choose one of {', '.join(TINY_FAMILIES)}", err=True)
        raise typer.Exit(2)
    typer.echo(str(TINY_FAMILIES[family](out, seed=seed)))


if __name__ == "__main__":
    app()
