"""`vctrain selector`: the Visual Prompt Selector (VisionCoach) in three steps.

1. label: a frozen proxy model answers every prompt variant of each sample; answer + grounding rewards score each
answer; the best variant is the sample's label (ties go to raw, then name order). Writes a labels Parquet.

2. train: a classifier from the question + key object names (+ optional visual features) to the best variant,
reported against the majority-class and random baselines on a held-out split. Writes a model folder.

3. predict: one variant per sample with its probability. Writes a predictions Parquet that `vctrain grpo` reads
with `adaptive.variant_source=selector:PATH`.

Settings: vctrain/selector/config.py. Pass a YAML with `label:`, `train:`, `predict:` sections (--config) and/or
key=value overrides of the command's own section (samples=4, encoder=hashing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import typer

from vctrain.usage_errors import usage_errors

selector_app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help=__doc__)

_CONFIG = typer.Option(None, "--config", help="YAML with `label:`, `train:`, `predict:` sections.")
_OVERRIDES = typer.Argument(None, help="key=value overrides of this command's section (YAML values).")


def _load(section: str, config: Path | None, overrides: list[str] | None, direct: Mapping[str, object]):
    """The command's section: YAML, then direct options (when given), then `key=value` overrides."""
    from vctrain.selector.config import load_selector_config

    items = [f"{section}.{k}={json.dumps(v)}" for k, v in direct.items() if v not in (None, [], "")]
    for item in overrides or []:
        key = item.split("=", 1)[0]
        items.append(item if key.startswith(f"{section}.") else f"{section}.{item}")
    return getattr(load_selector_config(config, items), section)


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2) from exc


@selector_app.command("label")
def label_cmd(
    shards: list[str] = typer.Option(None, "--shards", help="vcprep shard folder (repeat for several)."),
    model: str = typer.Option(None, "--model", help="Local folder of the frozen proxy VLM."),
    out: str = typer.Option(None, "--out", help="Labels Parquet to write."),
    samples: int = typer.Option(None, "--samples", min=0, help="0: greedy; G > 0: G seeded samples, mean reward."),
    config: Path = _CONFIG,
    overrides: list[str] = _OVERRIDES,
) -> None:
    """Score every variant of each sample with a frozen proxy model; write all scores and the best variant.

    Writes one row per (sample_id, variant): task, answer_reward, grounding_reward, score (their sum), best_variant
    (argmax; ties go to raw, then name order), question, key_items, the proxy's answers, the source split and the
    visual features. Useful overrides: max_frames=8 max_new_tokens=128 temperature=1.0 seed=0 variants=\\[raw,spotlight]
    tasks=\\[stvg] 'answer_rewards={stvg: {id_match: 1.0}}' 'grounding_rewards={stvg: {tiou: 1.0}}' device=cuda.
    """
    from vctrain.selector.labeling import label

    try:
        cfg = _load("label", config, overrides, {"shards": shards, "model": model, "output": out, "samples": samples})
        summary = label(cfg)
    except usage_errors() as exc:
        _fail(exc)
    typer.echo(json.dumps(summary, indent=2))


@selector_app.command("train")
def train_cmd(
    labels: str = typer.Option(None, "--labels", help="Labels Parquet from `selector label`."),
    out: str = typer.Option(None, "--out", help="Model folder to write (weights, selector.json, report)."),
    encoder: str = typer.Option(None, "--encoder", help="text (default, needs --encoder-path), hashing or lora."),
    encoder_path: str = typer.Option(None, "--encoder-path", help="Local HF model folder for text / lora."),
    config: Path = _CONFIG,
    overrides: list[str] = _OVERRIDES,
) -> None:
    """Train the selector; print held-out accuracy against the majority-class and random baselines.

    Writes weights.pt (head, visual statistics, LoRA adapters), selector.json (what predict needs), report.json and
    report.md. Useful overrides: head=mlp visual_features=true split=source heldout_fraction=0.25 epochs=100 lr=0.05
    patience=5 (early stopping on the held-out loss) lora_rank=8 lora_targets=\\[q_proj,v_proj] device=cuda.
    """
    from vctrain.selector.classifier import report_markdown, train_selector

    direct = {"labels": labels, "output_dir": out, "encoder": encoder, "encoder_path": encoder_path}
    try:
        report = train_selector(_load("train", config, overrides, direct))
    except usage_errors() as exc:
        _fail(exc)
    typer.echo(report_markdown(report))
    typer.echo(f"model: {report['config']['output_dir']}")


@selector_app.command("predict")
def predict_cmd(
    model: str = typer.Option(None, "--model", help="Model folder from `selector train`."),
    shards: list[str] = typer.Option(None, "--shards", help="Shard folder(s) of the samples to predict."),
    labels: str = typer.Option(None, "--labels", help="Or a labels Parquet (used when no --shards)."),
    out: str = typer.Option(None, "--out", help="Predictions Parquet to write."),
    config: Path = _CONFIG,
    overrides: list[str] = _OVERRIDES,
) -> None:
    """Write one predicted variant (and its probability) per sample.

    Output columns: sample_id, variant, confidence (softmax probability of the chosen variant); the choice is the
    argmax over the variants the sample has in the shards (or in the labels file).
    """
    from vctrain.selector.predict import predict

    direct = {"model_dir": model, "shards": shards, "labels": labels, "output": out}
    try:
        summary = predict(_load("predict", config, overrides, direct))
    except usage_errors() as exc:
        _fail(exc)
    typer.echo(json.dumps(summary, indent=2))
