"""Trainer options checked end to end on real demo shards with the tiny Qwen2.5-VL (CPU):

- the rollout-engine seam: an engine registered by name replaces `generate`, and the loop scores its tokens;
- `reward_params` from the YAML reach the rewards in training and in evaluation (STVG-R1's paper grammar), and a
  misspelt parameter stops the run before anything loads;
- gradient checkpointing changes memory, not results: the same step gives the same loss, gradients and weights;
- the prompt variant chosen per sample from a column, over several shard folders.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from vcconfig import ConfigError
from vctrain.config import load_config
from vctrain.data.reader import index_rows, load_sample
from vctrain.evaluation.evaluate import score_answers
from vctrain.rl.rollout import ENGINES, Rollout
from vctrain.rl.runlog import read_metrics
from vctrain.rl.train import train
from vctrain.tools.tiny import build_tiny_qwen25vl


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("tiny") / "qwen25vl-tiny", seed=0)


@pytest.fixture(scope="module")
def demo_row(demo_dataset: Path) -> dict:
    return load_sample(index_rows([str(demo_dataset)], "raw")[0], 4).row


def write_config(tmp_path: Path, model_dir: Path, shards: list[Path], name: str, **sections: dict) -> Path:
    """A one-step, G=2, 8-token recipe on 4 frames of 56x56 px; `sections` update its top-level keys."""
    cfg = {
        "model": {"path": str(model_dir)},
        "data": {"shards": [str(s) for s in shards], "variant": "id_tags", "max_frames": 4,
                 "max_pixels_per_frame": 56 * 56, "min_pixels_per_frame": 28 * 28},
        "rollout": {"group_size": 2, "max_new_tokens": 8},
        "loss": {"algorithm": "grpo", "beta": 0.0},
        "optim": {"lr": 1e-3},
        "steps": 1,
        "prompts_per_step": 1,
        "output_dir": str(tmp_path / name),
        "progress": False,
        "tensorboard": False,
        "seed": 3,
    }  # fmt: skip
    for key, value in sections.items():
        cfg[key] = {**cfg[key], **value} if isinstance(cfg.get(key), dict) else value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def stvg_answer(row: dict, bracketed: bool) -> str:
    """The row's own ground truth as an answer; `bracketed` writes the span as `[s to e]`, which STVG-R1's reward
    grammar does not parse (data_cards/CONVENTIONS.md) while vctrain's lenient grammar does."""
    start, end = row["gt_span_seconds"]
    span = f"[{start} to {end}]" if bracketed else f"{start} to {end}"
    return f"<think>the walker</think><answer>Target ID: {int(row['target_id'])}, Time range: {span}</answer>"


class ScriptedEngine:
    """A rollout engine that 'generates' one fixed text G times: the seam a vLLM/SGLang engine plugs into."""

    text = ""

    def __init__(self, tokenizer, cfg, eos_ids: list[int], pad_id: int, banned_ids: list[int]) -> None:
        self.tokenizer, self.eos_ids = tokenizer, eos_ids

    def generate(self, model, prompt: dict[str, torch.Tensor], group_size: int) -> Rollout:
        ids = self.tokenizer(self.text, add_special_tokens=False)["input_ids"] + [self.eos_ids[0]]
        completion = torch.tensor([ids] * group_size)  # [G, T]
        texts = [self.tokenizer.decode(row, skip_special_tokens=True) for row in completion.tolist()]
        return Rollout(completion, torch.ones_like(completion), texts)


@pytest.mark.parametrize(
    ("bracketed", "params", "tiou"),
    [(False, {}, 1.0), (True, {}, 1.0), (True, {"tiou": {"grammar": "paper"}}, 0.0)],
)
def test_engine_seam_and_reward_params_in_training(
    bracketed: bool, params: dict, tiou: float, tiny_model: Path, demo_dataset: Path, demo_row: dict,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setitem(ENGINES, "scripted", ScriptedEngine)
    monkeypatch.setattr(ScriptedEngine, "text", stvg_answer(demo_row, bracketed))
    cfg = write_config(tmp_path, tiny_model, [demo_dataset], "seam", rollout={"engine": "scripted"},
                       reward_params=params)  # fmt: skip
    train(load_config(cfg))
    (m,) = read_metrics(tmp_path / "seam")
    from transformers import AutoTokenizer

    tokens = AutoTokenizer.from_pretrained(tiny_model)(ScriptedEngine.text, add_special_tokens=False)["input_ids"]
    assert m["response_length"] == len(tokens) + 1  # the scripted tokens and the end token were scored
    assert m["reward/format_stvg"] == 1.0 and m["reward/id_match"] == 1.0  # id_match keeps the lenient grammar
    assert m["reward/tiou"] == pytest.approx(tiou, abs=1e-9)
    assert m["reward/total"] == pytest.approx(2.0 + tiou, abs=1e-9)
    assert m["reward/total_std"] == 0.0 and m["loss/policy_loss"] == 0.0  # identical responses: zero advantage


def test_reward_params_reach_eval(demo_row: dict) -> None:
    text = stvg_answer(demo_row, bracketed=True)
    lenient, _ = score_answers([demo_row], [text], load_config(None))
    paper, _ = score_answers([demo_row], [text], load_config(None, ["reward_params={tiou: {grammar: paper}}"]))
    assert lenient["rewards"]["tiou"] == pytest.approx(1.0, abs=1e-9)
    assert paper["rewards"]["tiou"] == 0.0 and paper["rewards"]["id_match"] == 1.0


@pytest.mark.parametrize(
    ("params", "message"),
    [({"tiou": {"gramar": "paper"}}, "reward_params.tiou.gramar: unknown parameter"),
     ({"mcq": {}}, "reward_params.mcq: not one of the configured")],
)
def test_bad_reward_params_stop_before_loading(params: dict, message: str, tmp_path: Path, demo_dataset: Path) -> None:
    cfg = write_config(tmp_path, tmp_path / "no-model-here", [demo_dataset], "bad", reward_params=params)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(cfg)  # refused when the config loads: no model, no shard is opened


def length_reward(texts: list[str], gts: list, progress: float):
    """A reward that differs between random responses (decoded length), so advantages and gradients are non-zero."""
    total = np.array([len(t) / 40.0 for t in texts])
    return total, {"length": total}


@pytest.mark.slow  # two training steps compared
def test_gradient_checkpointing_gives_the_same_step(tiny_model: Path, demo_dataset: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from vctrain.config import ModelConfig
    from vctrain.policy.model import load_model

    model = load_model(str(tiny_model), ModelConfig(gradient_checkpointing=True), torch.device("cpu"), trainable=True)
    assert getattr(model, "is_activation_checkpointing", None) or model.is_gradient_checkpointing
    runs = {}
    for flag in (False, True):
        name = f"gc-{flag}"
        cfg = write_config(tmp_path, tiny_model, [demo_dataset], name, model={"gradient_checkpointing": flag},
                           loss={"beta": 0.04, "updates_per_rollout": 2}, rollout={"group_size": 4})  # fmt: skip
        train(load_config(cfg), reward_fn=length_reward)
        (m,) = read_metrics(tmp_path / name)
        runs[flag] = (m, load_file(tmp_path / name / "checkpoints" / "step-000001" / "model" / "model.safetensors"))
    (plain, w_plain), (ckpt, w_ckpt) = runs[False], runs[True]
    assert plain["reward/total_std"] > 0 and plain["grad_norm"] > 0 and plain["loss/kl"] > 0  # a non-trivial step
    for key in ("response_length", "reward/total"):
        assert plain[key] == ckpt[key], key  # the same sampled responses
    for key in ("loss", "loss/policy_loss", "loss/kl", "grad_norm"):
        assert ckpt[key] == pytest.approx(plain[key], rel=1e-5, abs=1e-7), key
    assert all(torch.allclose(w_plain[k], w_ckpt[k], rtol=1e-5, atol=1e-7) for k in w_plain)


def with_variant_column(src: Path, dst: Path, choice: str) -> Path:
    """A copy of a shard folder whose rows carry `x_variant` = `choice` (the per-sample variant column); row groups
    (one per sample, which the reader relies on) are kept, and the row hashes and the manifest follow the new
    column, as any tool that adds a column must do (vctrain refuses folders that `vcprep verify` would reject)."""
    from vcshard.hashing import row_content_hash, sha256_file
    from vcshard.layout import MANIFEST_PATH
    from vcshard.manifest import load_manifest

    shutil.copytree(src, dst)
    for shard in (dst / "data").glob("*.parquet"):
        source = pq.ParquetFile(shard)
        groups = []
        for i in range(source.num_row_groups):
            group = source.read_row_group(i)
            group = group.append_column("x_variant", pa.array([choice] * group.num_rows, pa.string()))
            rows = group.to_pylist()
            hashes = pa.array([row_content_hash(r) for r in rows], pa.string())
            groups.append(group.set_column(group.schema.get_field_index("row_sha256"), "row_sha256", hashes))
        with pq.ParquetWriter(shard, groups[0].schema) as writer:
            for group in groups:
                writer.write_table(group)
    manifest = load_manifest(dst)
    for entry in manifest:
        path = dst / entry["shard"]
        entry.update(sha256=sha256_file(path), bytes=path.stat().st_size)
    (dst / MANIFEST_PATH).write_text("".join(json.dumps(e) + "\n" for e in manifest))
    return dst


def test_variant_from_a_column_over_several_folders(tiny_model: Path, demo_dataset: Path, tmp_path: Path) -> None:
    a = with_variant_column(demo_dataset, tmp_path / "a", "spotlight")
    b = with_variant_column(demo_dataset, tmp_path / "b", "boxes")
    refs = index_rows([str(a), str(b)], "column:x_variant")
    assert [(Path(r.shard_path).parents[1].name, r.variant) for r in refs] == [("a", "spotlight"), ("b", "boxes")]
    rows = [load_sample(r, 4).row for r in refs]
    assert [r["variant"] for r in rows] == ["spotlight", "boxes"]  # the row read is the chosen variant's
    cfg = write_config(tmp_path, tiny_model, [a, b], "column", data={"variant": "column:x_variant", "shuffle": False},
                       prompts_per_step=2)  # fmt: skip
    train(load_config(cfg))
    assert len(read_metrics(tmp_path / "column")) == 1
    assert not (tmp_path / "column" / "errors.jsonl").exists()  # both folders' rows loaded


def test_cosine_schedule_by_hand() -> None:
    from vctrain.rl.train import cosine_schedule

    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    scheduler = cosine_schedule(optimizer, total_steps=10, warmup_steps=2, min_ratio=0.1)
    lrs = []
    for _ in range(11):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    # warm-up 1/2, 2/2; then 0.1 + 0.9 * (1 + cos(pi * (s - 2) / 8)) / 2 for s = 2..10, times the peak 2.0
    assert lrs[:3] == pytest.approx([1.0, 2.0, 2.0])
    assert lrs[6] == pytest.approx(2.0 * (0.1 + 0.9 * 0.5))  # half way down
    assert lrs[4] == pytest.approx(2.0 * (0.1 + 0.9 * (1 + np.cos(np.pi / 4)) / 2))
    assert lrs[10] == pytest.approx(0.2) and all(a >= b for a, b in itertools.pairwise(lrs[2:]))


def test_bf16_only_where_the_device_has_it() -> None:
    from vctrain.policy.model import use_bf16

    cpu = torch.device("cpu")
    assert use_bf16("auto", cpu) is False and use_bf16("fp32", cpu) is False  # fp32 on CPU (bf16 is slower there)
    with pytest.raises(ValueError, match="no bf16 support"):
        use_bf16("bf16", cpu)
    if torch.cuda.is_available():
        assert use_bf16("auto", torch.device("cuda", 0)) is torch.cuda.is_bf16_supported()
