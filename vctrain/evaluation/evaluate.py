"""`vctrain eval`: greedy answers on an evaluation shard folder, scored with `vctrain.evaluation.metrics`.

STVG-R1 answers (an ID and a span) are turned back into boxes from the tube columns stored in each row, as
STVG-R1's evaluation does with its tracks; every convention (`>` or `>=`, frame grid and rate, frame cap,
seconds-to-frames rule) comes from the `eval:` config section. The per-row ceiling (oracle tIoU / vIoU of the
best single track, stored by vcprep) is reported beside the scores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from vcconfig import ConfigError
from vctrain.config import EvalConfig, TrainConfig, config_to_dict
from vctrain.data.reader import index_rows, load_sample
from vctrain.policy.model import encode_prompt, load_model, load_processor, resolve_device, vision_token_ids
from vctrain.rewards.parse import Grammar

TEMPORAL_TASKS = ("temporal_qa", "temporal_mcq", "temporal_grounding", "charades")
SPAN_READING: dict[str, tuple[Grammar, Literal["first", "last"]]] = {
    "time_r1": ("time_r1", "last"), "visioncoach": ("visioncoach", "first"),
}
"""How temporal-grounding answers are read per convention: (grammar, which `<answer>`); others read leniently."""


def _model_dir(checkpoint: Path) -> Path:
    """A trainer checkpoint keeps the weights in `model/`; a plain Hugging Face folder is used as is."""
    if (checkpoint / "model" / "config.json").is_file():
        return checkpoint / "model"
    if (checkpoint / "config.json").is_file():
        return checkpoint
    raise FileNotFoundError(f"{checkpoint}: neither a vctrain checkpoint (model/config.json) nor a model folder")


def _finite_mean(values: Sequence[float | None]) -> float:
    good = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(good)) if good else float("nan")


def eval_convention(ev: EvalConfig, top_level: str = "default") -> str:
    """`eval.convention`, or the top-level `convention` when it is empty; validated."""
    from vctrain.rewards.conventions import check_convention

    return check_convention(ev.convention or top_level)


def stvg_eval_config(ev: EvalConfig, top_level: str = "default"):
    """The metric conventions of the `eval:` section, validated, as vctrain.evaluation.metrics' STVGEvalConfig: the
    convention's choices, then every key set to a non-default value."""
    from vctrain.evaluation.metrics import EVAL_CONVENTIONS, STVGEvalConfig

    for name, value, allowed in (
        ("eval.comparison", ev.comparison, (">", ">=")),
        ("eval.moment_comparison", ev.moment_comparison, (">", ">=")),
        ("eval.grid", ev.grid, ("tube", "annotated", "fps")),
        ("eval.span_frames", ev.span_frames, ("pts", "truncate", "round")),
        ("eval.tiou_unit", ev.tiou_unit, ("seconds", "frames")),
    ):
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {allowed}, got {value!r}")
    if ev.grid == "fps" and ev.eval_fps <= 0:
        raise ConfigError("eval.grid=fps needs eval.eval_fps > 0 (TubeDETR: 5)")
    given, unset = _metric_keys(ev), _metric_keys(EvalConfig())
    chosen: dict[str, Any] = dict(EVAL_CONVENTIONS[eval_convention(ev, top_level)])
    for key, value in given.items():
        if value != unset[key] or key not in chosen:
            chosen[key] = value
    return STVGEvalConfig(thresholds=tuple(ev.thresholds), **chosen)


def _metric_keys(ev: EvalConfig) -> dict[str, Any]:
    """The `eval:` keys that STVGEvalConfig shares, under STVGEvalConfig's names (0 means unset for rate and cap)."""
    return {"grid": ev.grid, "eval_fps": ev.eval_fps or None, "max_frames": ev.max_eval_frames or None,
            "span_frames": ev.span_frames, "tiou_unit": ev.tiou_unit, "comparison": ev.comparison}  # fmt: skip


def moment_comparison(ev: EvalConfig, top_level: str = "default") -> str:
    """Charades-STA R@1 comparison: `eval.moment_comparison` when set, else the convention's (Time-R1: `>`)."""
    from vctrain.evaluation.metrics import MOMENT_CONVENTIONS

    if ev.moment_comparison != EvalConfig().moment_comparison:
        return ev.moment_comparison
    return MOMENT_CONVENTIONS.get(eval_convention(ev, top_level), ev.moment_comparison)


def score_answers(
    rows: list[dict[str, Any]], texts: list[str], cfg: TrainConfig
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Metrics over (shard row, generated text) pairs -> (metrics per group, one record per sample).

    Pure (no model): STVG rows get tIoU / vIoU with the predicted ID's boxes read from the row's tube columns;
    temporal-grounding rows get Charades-STA R@1 / mIoU; every row gets the configured rewards' means.
    """
    from vctrain.data.groundtruth import ground_truth_from_row
    from vctrain.evaluation.metrics import (
        evaluate_stvg_row,
        moment_retrieval,
        stvg_prediction_from_text,
        summarize_stvg,
        tube_boxes_for_id,
    )
    from vctrain.rewards.parse import answer_text, parse_claims, parse_span, think_text
    from vctrain.rewards.scoring import default_rewards

    ev = cfg.eval
    stvg_cfg = stvg_eval_config(ev, cfg.convention)
    convention = eval_convention(ev, cfg.convention)
    stvg_grammar: Grammar = "stvg_r1" if convention == "stvg_r1" else "lenient"
    span_grammar, span_tag = SPAN_READING.get(convention, ("lenient", "first"))
    records: list[dict[str, Any]] = []
    stvg_results, moment_preds, moment_gts, oracle_t, oracle_v = [], [], [], [], []
    for row, text in zip(rows, texts):
        task = row.get("task", "")
        record: dict[str, Any] = {"sample_id": row.get("sample_id"), "variant": row.get("variant"), "task": task}
        record["text"] = text
        record["claims"] = [
            {"name": c.name, "boxes": [list(b) for b in c.boxes or ()], "time_seconds": c.time_seconds}
            for c in parse_claims(think_text(text) or "")
        ]
        if task == "stvg":
            pred_id, pred_span = stvg_prediction_from_text(text, grammar=stvg_grammar)
            result = evaluate_stvg_row(row, pred_id, pred_span, stvg_cfg)
            stvg_results.append(result)
            oracle_t.append(row.get("oracle_tiou"))
            oracle_v.append(row.get("oracle_viou"))
            record |= {"pred_id": pred_id, "pred_span_seconds": pred_span, "tiou": result.tiou, "viou": result.viou}
            # the boxes the answer stands for (the predicted ID's tube inside the predicted span), for viewers
            boxes = tube_boxes_for_id(row, pred_id, pred_span) if pred_span is not None else {}
            record["pred_boxes"] = {str(f): [float(v) for v in box] for f, box in sorted(boxes.items())}
        elif task in TEMPORAL_TASKS:
            span = parse_span(answer_text(text, span_tag) or "", span_grammar)
            moment_preds.append(span)
            moment_gts.append(list(row.get("gt_span_seconds") or [0.0, 0.0]))
            record["pred_span_seconds"] = span
        records.append(record)
    metrics: dict[str, Any] = {}
    if stvg_results:
        metrics["stvg"] = summarize_stvg(stvg_results, stvg_cfg) | {
            "oracle_m_tIoU": _finite_mean(oracle_t),
            "oracle_m_vIoU": _finite_mean(oracle_v),
        }
    if moment_preds:
        metrics["moment"] = moment_retrieval(
            moment_preds,
            moment_gts,
            thresholds=tuple(ev.moment_thresholds),
            comparison=moment_comparison(ev, cfg.convention),  # type: ignore[arg-type]
        )
    if texts and cfg.rewards:
        reward_fn = default_rewards(cfg.rewards, cfg.reward_params)  # the training rewards, same switches
        total, parts = reward_fn(texts, [ground_truth_from_row(r) for r in rows], 0.0)
        metrics["rewards"] = {"total": float(total.mean())} | {k: float(v.mean()) for k, v in parts.items()}
        for i, record in enumerate(records):  # each sample's own rewards, so a viewer can sort worst first
            record["rewards"] = {"total": float(total[i])} | {k: float(v[i]) for k, v in parts.items()}
    return metrics, records


@torch.no_grad()
def generate_answers(cfg: TrainConfig, model_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """One greedy answer per evaluation row -> (rows without frames, texts)."""
    from tqdm.auto import tqdm

    ev = cfg.eval
    device = resolve_device(cfg.device)
    processor = load_processor(str(model_dir))
    model = load_model(str(model_dir), cfg.model, device, trainable=False)
    tokenizer = getattr(processor, "tokenizer", processor)
    eos = model.generation_config.eos_token_id or tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else int(np.atleast_1d(eos)[0])
    banned = vision_token_ids(model, tokenizer)
    refs = index_rows(ev.shards or cfg.data.shards, ev.variant, cfg.data.tasks, full_check=cfg.data.full_check)
    if ev.max_samples:
        refs = refs[: ev.max_samples]
    rows, texts = [], []
    for ref in tqdm(refs, desc="eval", disable=not cfg.progress):
        sample = load_sample(ref, cfg.data.max_frames)
        prompt = encode_prompt(processor, sample, cfg.data, device)
        out = model.generate(
            **prompt, do_sample=False, max_new_tokens=ev.max_new_tokens, eos_token_id=eos, pad_token_id=pad,
            suppress_tokens=banned or None,
        )  # fmt: skip
        texts.append(tokenizer.decode(out[0, prompt["input_ids"].shape[1] :], skip_special_tokens=True))
        rows.append(sample.row)
    return rows, texts


def build_report(
    rows: list[dict[str, Any]], texts: list[str], cfg: TrainConfig, *, checkpoint: str, model: str
) -> dict[str, Any]:
    """The JSON report of `vctrain eval` for answers already generated (what `vcprep view --eval` reads)."""
    metrics, records = score_answers(rows, texts, cfg)
    ev = cfg.eval
    return {
        "checkpoint": checkpoint,
        "model": model,
        "shards": ev.shards or cfg.data.shards,
        "variant": ev.variant,
        "conventions": config_to_dict(ev),
        "metrics": metrics,
        "samples": records,
    }


def evaluate(cfg: TrainConfig, checkpoint: str | Path) -> dict[str, Any]:
    """Generate on the evaluation shards, score, write the JSON report and return it."""
    stvg_eval_config(cfg.eval, cfg.convention)  # fail on a bad convention before loading anything
    model_dir = _model_dir(Path(checkpoint))
    rows, texts = generate_answers(cfg, model_dir)
    report = build_report(rows, texts, cfg, checkpoint=str(checkpoint), model=str(model_dir))
    ev = cfg.eval
    out_path = Path(ev.output) if ev.output else Path(checkpoint) / "eval.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2, default=str))
    report["output"] = str(out_path)
    return report


def format_table(report: dict[str, Any]) -> str:
    """A readable two-column table per metric group, followed by where the JSON went."""
    lines = [f"checkpoint: {report['checkpoint']}", f"variant: {report['variant']}"]
    for group, values in report["metrics"].items():
        lines.append("")
        lines.append(f"{group:<24}{'value':>10}")
        lines.append("-" * 34)
        for key, value in values.items():
            shown = f"{value:10.4f}" if isinstance(value, float) and key != "n" else f"{value:>10}"
            lines.append(f"{key:<24}{shown}")
    lines.append("")
    lines.append(f"json: {report.get('output', '')}")
    return "\n".join(lines)
