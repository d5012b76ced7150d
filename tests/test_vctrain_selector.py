"""Visual Prompt Selector: labels from a real proxy run on the demo shards, a classifier that learns a separable
labelling through the real train code, predictions in the contract's shape, and the three CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from vctrain.cli import app
from vctrain.data.groundtruth import ground_truth_from_row
from vctrain.data.reader import index_rows, load_sample
from vctrain.rewards import compute_rewards
from vctrain.selector.classifier import load_selector, read_labels, train_selector
from vctrain.selector.config import LabelConfig, PredictConfig, TrainSelectorConfig
from vctrain.selector.features import VISUAL_FEATURES, visual_features_of_row
from vctrain.selector.labeling import best_variant, label_records, labels_table, score_texts
from vctrain.selector.predict import predict
from vctrain.tools.tiny import build_tiny_qwen25vl

runner = CliRunner()
FAST = ["max_frames=4", "max_new_tokens=12", "progress=false"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("selector") / "tiny")


@pytest.fixture(scope="module")
def cli_labels(demo_dataset: Path, tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`vctrain selector label` on the demo shards with the tiny proxy: real generation, real rewards."""
    out = tmp_path_factory.mktemp("labels") / "labels.parquet"
    args = ["selector", "label", "--shards", str(demo_dataset), "--model", str(tiny), "--out", str(out), *FAST]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{") :])["samples"] == 1
    return out


def test_label_table_follows_the_contract(cli_labels: Path, demo_dataset: Path) -> None:
    table = pq.read_table(cli_labels)
    types = {f.name: f.type for f in table.schema}
    for name in ("sample_id", "variant", "task", "best_variant", "question"):
        assert types[name] == pa.string(), name
    for name in ("answer_reward", "grounding_reward", "score"):
        assert types[name] == pa.float64(), name
    assert types["key_items"] == pa.list_(pa.string())
    rows = table.to_pylist()
    info = json.loads((demo_dataset / "meta" / "info.json").read_text())
    assert sorted(r["variant"] for r in rows) == sorted(info["variants"])  # one row per (sample, variant)
    assert {r["sample_id"] for r in rows} == {"vtest-walker-0001"}
    assert all(r["key_items"] == ["man"] and r["question"].startswith("Which man") for r in rows)
    raw = load_sample(index_rows([str(demo_dataset)], "raw")[0], max_frames=2).row
    gt = ground_truth_from_row(raw)
    for r in rows:
        assert r["score"] == r["answer_reward"] + r["grounding_reward"]
        # the stored greedy answer, re-scored here: stvg answer = id_match, grounding = tiou (the defaults)
        assert len(r["answers"]) == 1
        assert r["answer_reward"] == compute_rewards(r["answers"], [gt], {"id_match": 1.0})[0][0]
        assert r["grounding_reward"] == compute_rewards(r["answers"], [gt], {"tiou": 1.0})[0][0]
    scores = {r["variant"]: r["score"] for r in rows}
    assert {r["best_variant"] for r in rows} == {best_variant(scores)}
    top = max(scores.values())
    assert scores[rows[0]["best_variant"]] == top


def test_scores_are_answer_plus_grounding_on_real_rows(demo_dataset: Path) -> None:
    raw = load_sample(index_rows([str(demo_dataset)], "raw")[0], max_frames=2).row
    start, end = raw["gt_span_seconds"]
    right = f"<think>the walker</think><answer>Target ID: {raw['target_id']}, Time range: {start} to {end}</answer>"
    wrong_id = right.replace(f"Target ID: {raw['target_id']}", f"Target ID: {int(raw['target_id']) + 1}")
    cfg = LabelConfig()
    assert score_texts(raw, [right], cfg) == (1.0, pytest.approx(1.0))
    assert score_texts(raw, [wrong_id], cfg) == (0.0, pytest.approx(1.0))
    assert score_texts(raw, [right, wrong_id, "nothing"], cfg) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    other = LabelConfig(answer_rewards={"default": {"format_stvg": 1.0}}, grounding_rewards={"stvg": {}})
    assert score_texts(raw, [right, "nothing"], other) == (0.5, 0.0)  # stvg falls back to `default`; empty = 0


def test_visual_features_of_a_real_row(demo_dataset: Path) -> None:
    row = load_sample(index_rows([str(demo_dataset)], "raw")[0], max_frames=2).row
    feats = dict(zip(VISUAL_FEATURES, visual_features_of_row(row)))
    ids = {int(t) for t in row["tube_track_ids"]}
    assert feats["log_num_tracks"] == pytest.approx(np.log1p(len(ids)))
    per_frame = np.unique(np.asarray(row["tube_frame_indices"]), return_counts=True)[1]
    assert feats["tracks_per_frame"] == pytest.approx(per_frame.mean())
    boxes = np.asarray(row["gt_boxes"], dtype=np.float64)
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).mean() / (
        row["frame_width"] * row["frame_height"]
    )
    assert feats["target_area_share"] == pytest.approx(area) and 0 < area < 0.1  # a walker is a small target
    assert feats["span_share"] == pytest.approx((10.6 - 4.6) / 16.0)  # span of the annotation over its 16 s clip
    assert feats["oracle_viou"] == pytest.approx(row["oracle_viou"]) and feats["target_tracked"] == 1.0


def test_best_variant_tie_rules() -> None:
    assert best_variant({"spotlight": 0.5, "raw": 0.5, "boxes": 0.2}) == "raw"  # a tie goes to raw
    assert best_variant({"spotlight": 1.0, "boxes": 1.0, "raw": 0.0}) == "boxes"  # then to name order
    assert best_variant({"raw": 0.1, "spotlight": 0.9, "boxes": 0.9 - 1e-12}) == "boxes"  # within tolerance
    assert best_variant({"raw": 0.1, "spotlight": 0.9, "boxes": 0.8}) == "spotlight"
    row = {"task": "stvg", "question": "q", "object_names": ["man"]}
    recs = label_records("s", {"raw": (0.0, 0.5), "spotlight": (0.5, 0.0), "boxes": (1.0, 0.25)}, row, 1e-9)
    assert [(r["variant"], r["score"]) for r in recs] == [("boxes", 1.25), ("raw", 0.5), ("spotlight", 0.5)]
    assert {r["best_variant"] for r in recs} == {"boxes"}


KEYWORDS = {"crowd": "spotlight", "moment": "temporal_crop", "number": "id_tags"}
FILLER = ["which", "man", "woman", "walks", "runs", "left", "right", "path", "building", "towards", "away",
          "slowly", "quickly", "dark", "jacket", "bag"]


def synthetic_labels(path: Path, n: int = 90, seed: int = 0, test_every: int = 0) -> Path:
    """Labels keyed by one word of the question (the rest random filler): separable from the text alone.
    With `test_every` k, every k-th sample carries the source split `test` (meta.x_split), the others `train`."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        word = list(KEYWORDS)[i % 3]
        words = list(rng.choice(FILLER, size=4))
        words.insert(int(rng.integers(0, 5)), word)
        for variant in ("raw", "id_tags", "spotlight", "temporal_crop"):
            scored = {v: (float(v == KEYWORDS[word]), 0.0) for v in ("raw", "id_tags", "spotlight", "temporal_crop")}
            row = {"task": "stvg", "question": " ".join(words) + "?", "object_names": ["man"]}
            if test_every:
                row["meta"] = json.dumps({"x_split": "test" if i % test_every == 0 else "train"})
            records += [r for r in label_records(f"s{i:03d}", scored, row, 1e-9) if r["variant"] == variant]
    pq.write_table(labels_table(records, {}), path)
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_labels(tmp_path_factory.mktemp("synthetic") / "labels.parquet")


@pytest.mark.parametrize(("encoder", "head", "minimum"), [("hashing", "linear", 0.95), ("text", "mlp", 0.8)])
def test_classifier_learns_a_separable_labelling(
    synthetic: Path, tiny: Path, tmp_path: Path, encoder: str, head: str, minimum: float
) -> None:
    cfg = TrainSelectorConfig(
        labels=str(synthetic), output_dir=str(tmp_path / "m"), encoder=encoder, encoder_path=str(tiny), head=head,
        visual_features=True,
    )  # fmt: skip
    report = train_selector(cfg)
    assert report["n_heldout"] >= 15 and report["n_train"] >= 45
    assert report["classes"] == ["raw", "id_tags", "spotlight", "temporal_crop"]
    assert report["heldout_accuracy"] >= minimum
    assert report["heldout_accuracy"] > report["majority_accuracy"] + 0.4
    assert report["random_expected_accuracy"] == 0.25
    assert report["counts_all"]["raw"] == 0 and sum(report["counts_heldout"].values()) == report["n_heldout"]
    assert (tmp_path / "m" / "report.md").read_text().count("| selector |") == 1

    # predict reloads the saved model: its held-out accuracy is the report's, and the rows follow the contract
    out = tmp_path / "pred.parquet"
    predict(PredictConfig(model_dir=str(tmp_path / "m"), labels=str(synthetic), output=str(out)))
    table = pq.read_table(out)
    assert table.schema == pa.schema(
        [("sample_id", pa.string()), ("variant", pa.string()), ("confidence", pa.float64())]
    )
    preds = {r["sample_id"]: r for r in table.to_pylist()}
    data = read_labels(synthetic)
    assert sorted(preds) == sorted(data.sample_ids)  # one row per sample
    assert all(0.0 < r["confidence"] <= 1.0 for r in preds.values())
    gold = dict(zip(data.sample_ids, data.labels))
    held = report["heldout_sample_ids"]
    assert np.mean([preds[s]["variant"] == gold[s] for s in held]) == pytest.approx(report["heldout_accuracy"])


@pytest.mark.slow  # LoRA adapters trained on the tiny model
def test_split_is_stable_and_lora_trains_adapters(synthetic: Path, tiny: Path, tmp_path: Path) -> None:
    base = dict(labels=str(synthetic), encoder_path=str(tiny), epochs=6, batch_size=32)
    first = train_selector(TrainSelectorConfig(**base, output_dir=str(tmp_path / "a"), encoder="lora"))
    assert first["history"][-1]["train_loss"] < first["history"][0]["train_loss"]
    state = torch.load(tmp_path / "a" / "weights.pt", weights_only=True)
    adapters = [k for k in state if ".lora_b." in k]
    assert adapters and any(float(state[k].abs().max()) > 0 for k in adapters)  # B moved off its zero init
    assert not any(k.startswith("encoder.lm.") and ".lora_" not in k for k in state)  # base weights not saved
    model, _ = load_selector(tmp_path / "a", torch.device("cpu"))
    texts = read_labels(synthetic).texts[:4]
    again, _ = load_selector(tmp_path / "a", torch.device("cpu"))
    visual = torch.zeros(4, len(VISUAL_FEATURES))
    assert torch.equal(model.logits(texts, visual), again.logits(texts, visual))
    other = train_selector(TrainSelectorConfig(**base, output_dir=str(tmp_path / "b"), encoder="hashing"))
    assert other["heldout_sample_ids"] == first["heldout_sample_ids"]  # the split depends on ids only


def test_source_split_holds_out_the_sources_test_samples(tmp_path: Path) -> None:
    labels = synthetic_labels(tmp_path / "labels.parquet", n=30, test_every=5)
    assert set(pq.read_table(labels).column("split").to_pylist()) == {"train", "test"}
    cfg = TrainSelectorConfig(labels=str(labels), output_dir=str(tmp_path / "m"), encoder="hashing", split="source")
    report = train_selector(cfg)
    assert report["heldout_sample_ids"] == [f"s{i:03d}" for i in range(0, 30, 5)]
    assert report["split"] == "source" and report["n_train"] == 24


def test_early_stopping_keeps_the_best_heldout_epoch(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    records = []
    for i in range(40):  # labels independent of the text: held-out loss only gets worse once the head memorises
        scored = {v: (float(rng.random()), 0.0) for v in ("raw", "spotlight", "temporal_crop")}
        row = {"task": "stvg", "question": " ".join(rng.choice(FILLER, size=5)), "object_names": ["man"]}
        records += label_records(f"n{i:03d}", scored, row, 1e-9)
    pq.write_table(labels_table(records, {}), tmp_path / "noise.parquet")
    cfg = TrainSelectorConfig(labels=str(tmp_path / "noise.parquet"), output_dir=str(tmp_path / "m"), encoder="hashing")
    report = train_selector(TrainSelectorConfig(**{**cfg.__dict__, "patience": 5}))
    losses = [h["heldout_loss"] for h in report["history"]]
    assert report["epochs_run"] < cfg.epochs and len(losses) == report["epochs_run"]
    best = int(np.argmin(losses))
    assert report["epochs_run"] == best + 1 + 5  # stopped 5 epochs after the best held-out loss
    model, meta = load_selector(tmp_path / "m", torch.device("cpu"))  # ... and saved that epoch's weights
    data = read_labels(tmp_path / "noise.parquet")
    held = [data.sample_ids.index(s) for s in report["heldout_sample_ids"]]
    with torch.no_grad():
        logits = model.logits([data.texts[i] for i in held], torch.zeros(len(held), len(VISUAL_FEATURES)))
    target = torch.tensor([meta["classes"].index(data.labels[i]) for i in held])
    assert float(torch.nn.functional.cross_entropy(logits, target)) == pytest.approx(losses[best], rel=1e-5)


def test_cli_train_and_predict_on_demo_labels(cli_labels: Path, demo_dataset: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    result = runner.invoke(
        app, ["selector", "train", "--labels", str(cli_labels), "--out", str(model_dir), "--encoder", "hashing",
              "visual_features=true", "epochs=5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "| selector |" in result.output and "no held-out samples" in result.output  # one sample: said, not faked
    meta = json.loads((model_dir / "selector.json").read_text())
    assert meta["classes"][0] == "raw" and meta["visual_features"] == list(VISUAL_FEATURES)
    out = tmp_path / "pred.parquet"
    result = runner.invoke(
        app, ["selector", "predict", "--model", str(model_dir), "--shards", str(demo_dataset), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    labels = pq.read_table(cli_labels).to_pylist()
    assert [r["sample_id"] for r in rows] == ["vtest-walker-0001"]
    assert rows[0]["variant"] == labels[0]["best_variant"]  # trained on that one label, it predicts it back
    bad = runner.invoke(app, ["selector", "train", "--labels", str(cli_labels), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "encoder_path" in bad.output  # the default text encoder needs weights
