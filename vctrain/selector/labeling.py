"""`selector label`: run a frozen proxy model on every variant of each sample and keep the best variant as the label.

Why this is the label (VisionCoach's Visual Prompt Selector): the variant under which a fixed
reasoner scores best on answer + grounding is the prompt that helps that sample most. Every score is stored, not only
the argmax, so a later selector can learn from margins or ties.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vcconfig import ConfigError
from vctrain.data.reader import RowRef, index_variants, load_sample
from vctrain.selector.config import LabelConfig
from vctrain.selector.features import VISUAL_FEATURES, key_items_of, split_of, visual_features_of_row

LABEL_COLUMNS = ("sample_id", "variant", "task", "answer_reward", "grounding_reward", "score", "best_variant")


def index_all_variants(shards: list[str], variants: list[str], tasks: list[str]) -> dict[str, dict[str, RowRef]]:
    """sample_id -> {variant -> where its row is}, over every shard of the folders, in shard order."""
    if not shards:
        raise ConfigError("label.shards is empty: give at least one vcprep shard folder")
    out: dict[str, dict[str, RowRef]] = {}
    for (sid, var), ref in index_variants(shards, tasks).items():
        if not variants or var in variants:
            out.setdefault(sid, {})[var] = ref
    if not out:
        raise ConfigError(f"label: no rows in {shards} (variants={variants or 'all'}, tasks={tasks or 'all'})")
    return out


def rewards_for_task(table: Mapping[str, Mapping[str, float]], task: str) -> dict[str, float]:
    """The {reward: weight} entry of a task, falling back to `default` (empty when neither exists)."""
    return dict(table.get(task, table.get("default", {})))


def best_variant(scores: Mapping[str, float], tolerance: float = 1e-9) -> str:
    """argmax of the scores; scores within `tolerance` of the best tie, and ties go to `raw`, then to name order.

    Why `raw` first: a prompt is only worth its rendering cost when it beats the plain video.
    """
    if not scores:
        raise ValueError("no variant scores")
    top = max(scores.values())
    tied = sorted(v for v, s in scores.items() if s >= top - tolerance)
    return "raw" if "raw" in tied else tied[0]


def row_seed(seed: int, sample_id: str, variant: str) -> int:
    """A generator seed per row from (seed, sample, variant): labels do not depend on the visiting order."""
    digest = hashlib.sha256(f"{seed}\0{sample_id}\0{variant}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


@dataclass
class Proxy:
    """The frozen proxy model and everything generation needs."""

    model: Any
    processor: Any
    tokenizer: Any
    eos: list[int]
    pad: int
    banned: list[int]
    device: torch.device


def load_proxy(path: str, device_name: str) -> Proxy:
    """Load the proxy VLM frozen (eval mode, no grads); a vctrain checkpoint's `model/` folder is used as is."""
    from vctrain.config import ModelConfig
    from vctrain.evaluation.evaluate import _model_dir
    from vctrain.policy.model import load_model, load_processor, resolve_device, vision_token_ids

    if not path:
        raise ConfigError("label.model is empty: give a local model folder (e.g. one from `vctrain build-tiny`)")
    model_dir = _model_dir(Path(path))
    device = resolve_device(device_name)
    processor = load_processor(str(model_dir))
    model = load_model(str(model_dir), ModelConfig(), device, trainable=False)
    tokenizer = getattr(processor, "tokenizer", processor)
    eos_raw = model.generation_config.eos_token_id or tokenizer.eos_token_id
    eos = [int(e) for e in np.atleast_1d(eos_raw)]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    return Proxy(model, processor, tokenizer, eos, int(pad), vision_token_ids(model, tokenizer), device)


@torch.no_grad()
def answer_row(proxy: Proxy, ref: RowRef, cfg: LabelConfig) -> tuple[dict[str, Any], list[str]]:
    """The row (without frames) and the proxy's answers to it: one greedy, or `cfg.samples` seeded samples."""
    from vctrain.config import DataConfig, RolloutConfig
    from vctrain.policy.model import encode_prompt
    from vctrain.rl.rollout import HFGenerateEngine

    sample = load_sample(ref, cfg.max_frames)
    data = DataConfig(max_pixels_per_frame=cfg.max_pixels_per_frame, min_pixels_per_frame=cfg.min_pixels_per_frame)
    prompt = encode_prompt(proxy.processor, sample, data, proxy.device)
    if cfg.samples <= 0:
        out = proxy.model.generate(
            **prompt, do_sample=False, max_new_tokens=cfg.max_new_tokens, eos_token_id=proxy.eos,
            pad_token_id=proxy.pad, suppress_tokens=proxy.banned or None,
        )  # fmt: skip
        texts = [proxy.tokenizer.decode(out[0, prompt["input_ids"].shape[1] :], skip_special_tokens=True)]
    else:
        torch.manual_seed(row_seed(cfg.seed, ref.sample_id, ref.variant))
        rollout_cfg = RolloutConfig(max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature)
        engine = HFGenerateEngine(proxy.tokenizer, rollout_cfg, proxy.eos, proxy.pad, proxy.banned)
        texts = engine.generate(proxy.model, prompt, cfg.samples).texts
    return sample.row, texts


def score_texts(row: Mapping[str, Any], texts: list[str], cfg: LabelConfig) -> tuple[float, float]:
    """(answer reward, grounding reward) of a row's answers: each the weighted reward sum, averaged over answers."""
    from vctrain.data.groundtruth import ground_truth_from_row
    from vctrain.rewards import compute_rewards

    task = str(row.get("task") or "")
    gts = [ground_truth_from_row(row)] * len(texts)
    parts = []
    for table in (cfg.answer_rewards, cfg.grounding_rewards):
        weights = rewards_for_task(table, task)
        if not weights:
            parts.append(0.0)
            continue
        total, _ = compute_rewards(texts, gts, weights, reward_params=cfg.reward_params)  # [G]
        parts.append(float(total.mean()))
    return parts[0], parts[1]


def label_records(
    sample_id: str,
    scored: Mapping[str, tuple[float, float]],
    row: Mapping[str, Any],
    tolerance: float,
    answers: Mapping[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """The labels table's rows of one sample from {variant: (answer, grounding)}; score = answer + grounding.
    `answers` (the proxy's texts per variant) are kept so every score can be recomputed and audited."""
    scores = {v: a + g for v, (a, g) in scored.items()}
    best = best_variant(scores, tolerance)
    visual = visual_features_of_row(row)
    return [
        {
            "sample_id": sample_id,
            "variant": variant,
            "task": str(row.get("task") or ""),
            "answer_reward": float(a),
            "grounding_reward": float(g),
            "score": float(a + g),
            "best_variant": best,
            "question": str(row.get("question") or ""),
            "key_items": key_items_of(row),
            "answers": list((answers or {}).get(variant, [])),
            "split": split_of(row),
            **{f"feat_{name}": float(visual[k]) for k, name in enumerate(VISUAL_FEATURES)},
        }
        for variant, (a, g) in sorted(scored.items())
    ]


def labels_table(records: list[dict[str, Any]], metadata: Mapping[str, Any]):
    """Arrow table of the labels with fixed types (float64 scores, list<string> key items) and the settings."""
    import pyarrow as pa

    fields = [
        pa.field("sample_id", pa.string()),
        pa.field("variant", pa.string()),
        pa.field("task", pa.string()),
        pa.field("answer_reward", pa.float64()),
        pa.field("grounding_reward", pa.float64()),
        pa.field("score", pa.float64()),
        pa.field("best_variant", pa.string()),
        pa.field("question", pa.string()),
        pa.field("key_items", pa.list_(pa.string())),
        pa.field("answers", pa.list_(pa.string())),
        pa.field("split", pa.string()),
        *[pa.field(f"feat_{name}", pa.float64()) for name in VISUAL_FEATURES],
    ]
    schema = pa.schema(fields, metadata={"vctrain_selector": json.dumps(metadata, default=str)})
    return pa.Table.from_pylist(records, schema=schema)


def label(cfg: LabelConfig) -> dict[str, Any]:
    """Label every sample of the shards and write the Parquet; returns a summary (counts per best variant)."""
    import dataclasses

    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    from vctrain.rewards import REWARDS

    for table in (cfg.answer_rewards, cfg.grounding_rewards):
        unknown = sorted({name for weights in table.values() for name in weights} - set(REWARDS))
        if unknown:
            raise KeyError(f"selector rewards: unknown name(s) {unknown}; known: {sorted(REWARDS)}")
    index = index_all_variants(cfg.shards, cfg.variants, cfg.tasks)
    sample_ids = list(index)[: cfg.max_samples or None]
    proxy = load_proxy(cfg.model, cfg.device)
    records: list[dict[str, Any]] = []
    total = sum(len(index[s]) for s in sample_ids)
    with tqdm(total=total, desc="selector label", disable=not cfg.progress) as bar:
        for sid in sample_ids:
            scored: dict[str, tuple[float, float]] = {}
            answers: dict[str, list[str]] = {}
            first_row: dict[str, Any] = {}
            for variant in sorted(index[sid]):
                row, texts = answer_row(proxy, index[sid][variant], cfg)
                scored[variant] = score_texts(row, texts, cfg)
                answers[variant] = texts
                if not first_row or variant == "raw":
                    first_row = row  # features come from the raw row (a temporal crop changes the span share)
                bar.update(1)
            records.extend(label_records(sid, scored, first_row, cfg.tie_tolerance, answers))
    out = Path(cfg.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(labels_table(records, dataclasses.asdict(cfg)), out)
    best = {r["sample_id"]: r["best_variant"] for r in records}
    counts: dict[str, int] = {}
    for variant in best.values():
        counts[variant] = counts.get(variant, 0) + 1
    ties = sum(1 for sid in best if _all_tied([r["score"] for r in records if r["sample_id"] == sid], cfg))
    return {"output": str(out), "samples": len(best), "rows": len(records), "best_counts": counts, "all_tied": ties}


def _all_tied(scores: list[float], cfg: LabelConfig) -> bool:
    return len(scores) > 1 and max(scores) - min(scores) <= cfg.tie_tolerance
