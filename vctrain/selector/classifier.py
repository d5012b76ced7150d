"""`selector train`: a multi-class classifier from (question, key objects[, visual features]) to the best variant.

Why a small head on a frozen encoder by default: labels are few (one per training sample) and noisy (a proxy's
argmax), so a linear or one-hidden-layer head on fixed features is hard to overfit and trains in seconds. The split
is a hash of the sample id, so a sample stays on its side of the split however the labels file grows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vcconfig import ConfigError
from vctrain.selector.config import TrainSelectorConfig
from vctrain.selector.encoders import TextEncoder, build_encoder
from vctrain.selector.features import VISUAL_FEATURES, sample_text


class Head(nn.Module):
    """`linear`: one layer; `mlp`: Linear -> ReLU -> Dropout -> Linear."""

    def __init__(self, kind: str, in_dim: int, num_classes: int, hidden: int, dropout: float) -> None:
        super().__init__()
        if kind == "linear":
            self.net: nn.Module = nn.Linear(in_dim, num_classes)
        elif kind == "mlp":
            self.net = nn.Sequential(
                nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)
            )
        else:
            raise ValueError(f"train.head must be linear or mlp, got {kind!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # [N, C]


@dataclass
class LabelledSamples:
    """One entry per sample, read from the labels Parquet."""

    sample_ids: list[str]
    texts: list[str]
    labels: list[str]
    visual: np.ndarray  # [N, len(VISUAL_FEATURES)]
    available: list[list[str]]  # variants each sample was labelled on
    splits: list[str]  # the source's split of each sample ("" when none)
    classes: list[str]  # every variant in the file, `raw` first, then name order


def order_classes(variants: set[str] | list[str]) -> list[str]:
    """`raw` first, then name order: the class order is stable and matches the tie-break of the labels."""
    names = sorted(set(variants))
    return (["raw"] if "raw" in names else []) + [v for v in names if v != "raw"]


def read_labels(path: str | Path) -> LabelledSamples:
    """Group the labels Parquet (one row per sample and variant) into one entry per sample."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: labels Parquet not found (run `vctrain selector label` first)")
    rows = pq.read_table(path).to_pylist()
    if not rows:
        raise ValueError(f"{path}: no labels")
    by_sample: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_sample.setdefault(row["sample_id"], {"row": row, "variants": []})
        entry["variants"].append(row["variant"])
    ids = list(by_sample)
    first = [by_sample[s]["row"] for s in ids]
    return LabelledSamples(
        sample_ids=ids,
        texts=[sample_text(r.get("question") or "", list(r.get("key_items") or [])) for r in first],
        labels=[r["best_variant"] for r in first],
        visual=np.array(
            [[float(r.get(f"feat_{n}") or 0.0) for n in VISUAL_FEATURES] for r in first], dtype=np.float64
        ).reshape(len(ids), len(VISUAL_FEATURES)),
        available=[order_classes(by_sample[s]["variants"]) for s in ids],
        splits=[str(r.get("split") or "") for r in first],
        classes=order_classes({r["variant"] for r in rows}),
    )


def is_heldout(sample_id: str, fraction: float, seed: int) -> bool:
    """Deterministic split: sha256(seed, sample_id) mapped to [0, 1) below `fraction` is held out."""
    digest = hashlib.sha256(f"{seed}\0{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2**64 < fraction


HELDOUT_SPLITS = ("test", "val", "validation", "heldout")


def heldout_mask(data: LabelledSamples, cfg: TrainSelectorConfig) -> list[bool]:
    """Which samples are held out: by hash, or by the source's own split (hash where a sample has none)."""
    if cfg.split not in ("hash", "source"):
        raise ValueError(f"train.split must be hash or source, got {cfg.split!r}")
    out = []
    for sid, split in zip(data.sample_ids, data.splits):
        if cfg.split == "source" and split:
            out.append(split.lower() in HELDOUT_SPLITS)
        else:
            out.append(is_heldout(sid, cfg.heldout_fraction, cfg.split_seed))
    return out


def encode_all(encoder: nn.Module, texts: list[str], batch: int = 64) -> torch.Tensor:
    """Features of a frozen encoder, computed once in chunks -> [N, D]."""
    with torch.no_grad():
        return torch.cat([encoder(texts[i : i + batch]) for i in range(0, len(texts), batch)]).float()


class SelectorModel(nn.Module):
    """encoder(texts) [+ normalised visual features] -> head -> logits over the classes."""

    visual_mean: torch.Tensor  # buffers, registered in __init__
    visual_std: torch.Tensor

    def __init__(
        self, encoder: TextEncoder, head: Head, visual_mean: torch.Tensor | None, visual_std: torch.Tensor | None
    ):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.register_buffer("visual_mean", visual_mean if visual_mean is not None else torch.zeros(0))
        self.register_buffer("visual_std", visual_std if visual_std is not None else torch.ones(0))

    def features(self, text_feats: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        if self.visual_mean.numel() == 0:
            return text_feats
        return torch.cat([text_feats, (visual - self.visual_mean) / self.visual_std], dim=1)  # [N, D + V]

    def logits(self, texts: list[str], visual: torch.Tensor, cached: torch.Tensor | None = None) -> torch.Tensor:
        text_feats = cached if cached is not None else self.encoder(texts)
        return self.head(self.features(text_feats.to(visual.device), visual))  # [N, C]


def encoder_spec(cfg: TrainSelectorConfig) -> dict[str, Any]:
    if cfg.encoder == "hashing":
        return {"kind": "hashing", "dim": cfg.hashing_dim, "ngrams": cfg.hashing_ngrams}
    if cfg.encoder == "text":
        if not cfg.encoder_path:
            raise ConfigError("train.encoder=text needs train.encoder_path (a local HF model folder); "
                             "or use train.encoder=hashing, which needs no weights")  # fmt: skip
        return {"kind": "text", "path": cfg.encoder_path, "max_length": cfg.max_length}
    if cfg.encoder == "lora":
        if not cfg.encoder_path:
            raise ConfigError("train.encoder=lora needs train.encoder_path (a local language model or VLM folder)")
        return {
            "kind": "lora", "path": cfg.encoder_path, "max_length": cfg.max_length, "rank": cfg.lora_rank,
            "alpha": cfg.lora_alpha, "targets": list(cfg.lora_targets), "dropout": cfg.dropout,
        }  # fmt: skip
    raise ValueError(f"train.encoder must be text, hashing or lora, got {cfg.encoder!r}")


def build_model(
    spec: dict[str, Any], head_kind: str, num_classes: int, hidden: int, dropout: float, visual: bool
) -> SelectorModel:
    """The untrained model: the encoder from its spec and a fresh head sized for it (+ visual features)."""
    encoder = build_encoder(spec)
    in_dim = int(encoder.dim) + (len(VISUAL_FEATURES) if visual else 0)
    mean = torch.zeros(len(VISUAL_FEATURES)) if visual else None
    std = torch.ones(len(VISUAL_FEATURES)) if visual else None
    return SelectorModel(encoder, Head(head_kind, in_dim, num_classes, hidden, dropout), mean, std)


def _accuracy(pred: list[str], gold: list[str]) -> float | None:
    return float(np.mean([p == g for p, g in zip(pred, gold)])) if gold else None


def _counts(labels: list[str], classes: list[str]) -> dict[str, int]:
    return {c: sum(1 for x in labels if x == c) for c in classes}


def train_selector(cfg: TrainSelectorConfig) -> dict[str, Any]:
    """Train on the labels, evaluate on the held-out split against the baselines, write the model and the report."""
    from vctrain.policy.model import resolve_device

    data = read_labels(cfg.labels)
    classes = data.classes
    spec = encoder_spec(cfg)
    torch.manual_seed(cfg.seed)
    model = build_model(spec, cfg.head, len(classes), cfg.hidden, cfg.dropout, cfg.visual_features)
    device = resolve_device(cfg.device)
    model.to(device)
    held = heldout_mask(data, cfg)
    note = ""
    if all(held) or not any(held):
        held = [False] * len(held)
        note = "no held-out samples (too few samples for the split): trained on all, held-out accuracy undefined"
    train_idx = [i for i, h in enumerate(held) if not h]
    test_idx = [i for i, h in enumerate(held) if h]
    y = torch.tensor([classes.index(lab) for lab in data.labels], device=device)  # [N]
    visual = torch.tensor(data.visual, dtype=torch.float32, device=device)  # [N, V]
    if cfg.visual_features:
        train_visual = visual[train_idx]
        model.visual_mean.copy_(train_visual.mean(0))
        model.visual_std.copy_(train_visual.std(0, unbiased=False).clamp_min(1e-6))
    trainable = model.encoder.trainable
    cached = None if trainable else encode_all(model.encoder, data.texts).to(device)  # [N, D]
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=cfg.lora_lr if trainable else cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)

    def logits_of(idx: list[int]) -> torch.Tensor:
        texts = [data.texts[i] for i in idx]
        return model.logits(texts, visual[idx], cached[idx] if cached is not None else None)

    best_loss, best_state, bad_epochs, epochs_run, history = float("inf"), None, 0, 0, []
    for _epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(train_idx).tolist()
        losses = []
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            loss = nn.functional.cross_entropy(logits_of(idx), y[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
            losses.append(float(loss.detach()))
        epochs_run += 1
        record = {"epoch": epochs_run, "train_loss": float(np.mean(losses)) if losses else float("nan")}
        if test_idx and cfg.patience > 0:
            model.eval()
            with torch.no_grad():
                held_loss = float(nn.functional.cross_entropy(logits_of(test_idx), y[test_idx]))
            record["heldout_loss"] = held_loss
            if held_loss < best_loss - 1e-6:
                best_loss, bad_epochs = held_loss, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items() if _saved(k, trainable)}
            else:
                bad_epochs += 1
        history.append(record)
        if cfg.patience > 0 and bad_epochs >= cfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    model.eval()
    with torch.no_grad():
        masks = availability_mask(data.available, classes).to(device)
        pred_idx = (logits_of(list(range(len(data.texts)))).masked_fill(~masks, float("-inf"))).argmax(1).tolist()
    preds = [classes[i] for i in pred_idx]
    report = make_report(cfg, data, classes, train_idx, test_idx, preds, note, epochs_run, history)
    save_model(cfg, model, spec, classes, trainable, report)
    return report


def _saved(key: str, trainable: bool) -> bool:
    """Keys kept in the selector's weights: head, visual statistics and (LoRA) adapters, never the frozen base."""
    return key.startswith(("head.", "visual_")) or (trainable and ".lora_" in key)


def availability_mask(available: list[list[str]], classes: list[str]) -> torch.Tensor:
    """[N, C] True where the sample has that variant: a prediction is always a variant the sample can be shown."""
    mask = torch.zeros(len(available), len(classes), dtype=torch.bool)
    for i, names in enumerate(available):
        for name in names:
            if name in classes:
                mask[i, classes.index(name)] = True
        if not mask[i].any():
            mask[i] = True
    return mask


def make_report(
    cfg: TrainSelectorConfig,
    data: LabelledSamples,
    classes: list[str],
    train_idx: list[int],
    test_idx: list[int],
    preds: list[str],
    note: str,
    epochs_run: int,
    history: list[dict[str, float]],
) -> dict[str, Any]:
    """Held-out accuracy against the majority-class and uniform-random baselines, with per-class counts."""
    train_labels = [data.labels[i] for i in train_idx]
    test_labels = [data.labels[i] for i in test_idx]
    counts = _counts(train_labels, classes)
    majority = max(classes, key=lambda c: (counts[c], -classes.index(c)))  # ties: earlier class (raw first)
    rng = np.random.default_rng(cfg.seed)
    random_pred = [classes[int(k)] for k in rng.integers(0, len(classes), size=len(test_idx))]
    return {
        "classes": classes,
        "encoder": cfg.encoder,
        "head": cfg.head,
        "visual_features": cfg.visual_features,
        "n_samples": len(data.sample_ids),
        "n_train": len(train_idx),
        "n_heldout": len(test_idx),
        "split": cfg.split,
        "epochs_run": epochs_run,
        "note": note,
        "train_accuracy": _accuracy([preds[i] for i in train_idx], train_labels),
        "heldout_accuracy": _accuracy([preds[i] for i in test_idx], test_labels),
        "majority_class": majority,
        "majority_accuracy": _accuracy([majority] * len(test_idx), test_labels),
        "random_expected_accuracy": 1.0 / len(classes),
        "random_measured_accuracy": _accuracy(random_pred, test_labels),
        "random_seed": cfg.seed,
        "counts_all": _counts(data.labels, classes),
        "counts_train": counts,
        "counts_heldout": _counts(test_labels, classes),
        "counts_predicted_heldout": _counts([preds[i] for i in test_idx], classes),
        "heldout_sample_ids": [data.sample_ids[i] for i in test_idx],
        "history": history,
        "config": asdict(cfg),
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def report_markdown(report: dict[str, Any]) -> str:
    """The accuracy table and the per-class counts as Markdown (also what `selector train` prints)."""
    lines = [
        f"Selector: encoder `{report['encoder']}`, head `{report['head']}`, visual features "
        f"{'on' if report['visual_features'] else 'off'}; {report['n_samples']} samples "
        f"({report['n_train']} train, {report['n_heldout']} held out by {report['split']}), "
        f"{report['epochs_run']} epochs.",
        "",
        "| model | held-out accuracy |",
        "|---|---|",
        f"| selector | {_fmt(report['heldout_accuracy'])} |",
        f"| majority class (`{report['majority_class']}`, of the train split) | {_fmt(report['majority_accuracy'])} |",
        f"| uniform random, expected (1/{len(report['classes'])}) | {_fmt(report['random_expected_accuracy'])} |",
        f"| uniform random, measured (seed {report['random_seed']}) | {_fmt(report['random_measured_accuracy'])} |",
        "",
        f"Train accuracy: {_fmt(report['train_accuracy'])}." + (f" Note: {report['note']}." if report["note"] else ""),
        "",
        "| variant | best (all) | train | held out | predicted (held out) |",
        "|---|---|---|---|---|",
    ]
    for c in report["classes"]:
        lines.append(
            f"| `{c}` | {report['counts_all'][c]} | {report['counts_train'][c]} | {report['counts_heldout'][c]} "
            f"| {report['counts_predicted_heldout'][c]} |"
        )
    return "\n".join(lines) + "\n"


def save_model(
    cfg: TrainSelectorConfig,
    model: SelectorModel,
    spec: dict[str, Any],
    classes: list[str],
    trainable: bool,
    report: dict[str, Any],
) -> Path:
    """`selector.json` (encoder spec, head, classes) + `weights.pt` (head, visual statistics, LoRA adapters) +
    `report.json` / `report.md`."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items() if _saved(k, trainable)}
    torch.save(state, out / "weights.pt")
    meta = {
        "format": 1,
        "encoder": spec,
        "head": cfg.head,
        "hidden": cfg.hidden,
        "dropout": cfg.dropout,
        "visual_features": list(VISUAL_FEATURES) if cfg.visual_features else [],
        "classes": classes,
    }
    (out / "selector.json").write_text(json.dumps(meta, indent=2))
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "report.md").write_text(report_markdown(report))
    return out


def load_selector(model_dir: str | Path, device: torch.device) -> tuple[SelectorModel, dict[str, Any]]:
    """The trained selector (eval mode) and its `selector.json`."""
    folder = Path(model_dir)
    meta_path = folder / "selector.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder}: not a selector model folder (selector.json missing; run `selector train`)")
    meta = json.loads(meta_path.read_text())
    model = build_model(
        meta["encoder"], meta["head"], len(meta["classes"]), int(meta["hidden"]), float(meta["dropout"]),
        bool(meta["visual_features"]),
    )  # fmt: skip
    state = torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)
    missing = [k for k in state if k not in model.state_dict()]
    if missing:
        raise ValueError(f"{folder}/weights.pt: keys {missing[:3]} do not fit the model described in selector.json")
    model.load_state_dict(state, strict=False)
    return model.to(device).eval(), meta
