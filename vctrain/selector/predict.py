"""`selector predict`: one variant per sample, with the classifier's probability, for `vctrain grpo` to read.

Why restricted to the sample's own variants: a prediction the shards cannot show would make the trainer skip the
sample; the argmax is taken over the variants each sample actually has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from vcconfig import ConfigError
from vctrain.selector.classifier import availability_mask, load_selector, order_classes, read_labels
from vctrain.selector.config import PredictConfig
from vctrain.selector.features import key_items_of, sample_text, visual_features_of_row

_LIGHT = ("sample_id", "variant", "task", "question", "object_names", "meta", "gt_boxes", "gt_span_seconds",
          "frame_width", "frame_height", "video_duration_seconds", "oracle_viou", "target_id",
          "tube_track_ids", "tube_frame_indices")  # fmt: skip


def samples_from_shards(shards: list[str]) -> tuple[list[str], list[str], np.ndarray, list[list[str]]]:
    """(sample ids, texts, visual features [N, V], available variants) from shard rows (no frames read)."""
    import pyarrow.parquet as pq

    from vctrain.data.reader import check_folder

    rows: dict[str, dict[str, Any]] = {}
    variants: dict[str, list[str]] = {}
    for folder in shards:
        for shard in check_folder(Path(folder)):
            pf = pq.ParquetFile(shard)
            cols = [c for c in _LIGHT if c in pf.schema_arrow.names]
            for row in pf.read(columns=cols).to_pylist():
                sid = row["sample_id"]
                variants.setdefault(sid, []).append(row["variant"])
                if sid not in rows or row["variant"] == "raw":
                    rows[sid] = row  # features from the raw row, as at labelling time
    if not rows:
        raise ValueError(f"no rows in {shards}")
    ids = list(rows)
    texts = [sample_text(rows[s].get("question") or "", key_items_of(rows[s])) for s in ids]
    visual = np.array([visual_features_of_row(rows[s]) for s in ids], dtype=np.float64)
    return ids, texts, visual, [order_classes(variants[s]) for s in ids]


def predictions_table(sample_ids: list[str], variants: list[str], confidence: list[float]):
    """The contract: sample_id (string), variant (string), confidence (float64), one row per sample."""
    import pyarrow as pa

    schema = pa.schema([("sample_id", pa.string()), ("variant", pa.string()), ("confidence", pa.float64())])
    return pa.table({"sample_id": sample_ids, "variant": variants, "confidence": confidence}, schema=schema)


def predict(cfg: PredictConfig) -> dict[str, Any]:
    """Predict every sample of the shards (or of a labels file), write the Parquet, return a summary."""
    import pyarrow.parquet as pq

    from vctrain.policy.model import resolve_device

    device = resolve_device(cfg.device)
    model, meta = load_selector(cfg.model_dir, device)
    classes: list[str] = meta["classes"]
    if cfg.shards:
        ids, texts, visual, available = samples_from_shards(cfg.shards)
    elif cfg.labels:
        data = read_labels(cfg.labels)
        ids, texts, visual, available = data.sample_ids, data.texts, data.visual, data.available
    else:
        raise ConfigError("predict needs predict.shards (shard folders) or predict.labels (a labels Parquet)")
    unknown = sorted({v for names in available for v in names} - set(classes))
    visual_t = torch.tensor(visual, dtype=torch.float32, device=device).reshape(len(ids), -1)
    chosen, confidence = [], []
    with torch.no_grad():
        for start in range(0, len(ids), 64):
            idx = list(range(start, min(start + 64, len(ids))))
            logits = model.logits([texts[i] for i in idx], visual_t[idx])  # [B, C]
            probs = torch.softmax(logits, dim=1).cpu()
            mask = availability_mask([available[i] for i in idx], classes)
            masked = probs.masked_fill(~mask, -1.0)
            best = masked.argmax(1)
            chosen += [classes[int(k)] for k in best]
            confidence += [float(probs[j, k]) for j, k in enumerate(best.tolist())]
    out = Path(cfg.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(predictions_table(ids, chosen, confidence), out)
    counts = {c: chosen.count(c) for c in classes if chosen.count(c)}
    return {"output": str(out), "samples": len(ids), "predicted_counts": counts, "unknown_variants": unknown}
