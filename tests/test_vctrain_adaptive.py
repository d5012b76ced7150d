"""VisionCoach's adaptive prompting + self-distillation: the rules by hand, variant sources from Parquet, a real run.

The run uses the tiny random Qwen2.5-VL on the real demo shards (vtest.avi, HOG + ByteTrack, pre-rendered variants):
with the threshold above any reachable reward every sample is hard, so each step rolls out again on the `id_tags`
row and distils the best responses. Plain GRPO, adaptive with alpha 0 and adaptive with alpha > 0 share the seed,
so their first raw rollouts are identical: alpha 0 must leave the RL gradient exactly as plain GRPO's, alpha > 0
must change it (L_SD contributes gradient). An adaptive run pre-empted and resumed repeats the full run exactly, and
the same training runs under `torchrun` with two gloo ranks.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from vctrain.config import AdaptiveConfig, load_config
from vctrain.rl.adaptive import (
    VariantSource,
    answer_reward,
    hard_sample_step,
    is_hard,
    load_variant_source,
    plan_variants,
    select_candidates,
    self_distillation_loss,
    top_n_by_answer,
)
from vctrain.rl.rollout import Rollout
from vctrain.rl.runlog import read_metrics
from vctrain.rl.train import train
from vctrain.tools.tiny import build_tiny_qwen25vl

FORMAT_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


# --- the rules by hand ---------------------------------------------------------------------------------------------


def test_hard_rule_is_strictly_below_threshold() -> None:
    assert is_hard(0.49, 0.5)
    assert not is_hard(0.5, 0.5)  # at the threshold: not hard (R̄ < k)
    assert not is_hard(0.51, 0.5)
    assert is_hard(math.nextafter(2.21, 0.0), 2.21)
    assert not is_hard(2.21, 2.21)
    assert is_hard(-1.0, 0.0)


def test_candidates_strictly_beat_the_raw_mean() -> None:
    prompted = np.array([0.2, 0.5, math.nextafter(0.5, 1.0), 1.0, 0.5])
    assert select_candidates(prompted, 0.5).tolist() == [2, 3]  # equal to the mean is not a candidate
    assert select_candidates(prompted, 1.0).tolist() == []
    assert select_candidates(prompted, -0.1).tolist() == [0, 1, 2, 3, 4]


def test_top_n_by_answer_reward_with_ties() -> None:
    answer = np.array([1.0, 0.0, 0.5, 0.5, 0.9, 0.5])
    total = np.array([1.5, 0.1, 0.7, 0.9, 1.0, 0.9])
    candidates = np.array([0, 2, 3, 5])  # index 4 has a high answer reward but is not a candidate
    assert top_n_by_answer(candidates, answer, 2, total).tolist() == [0, 3]  # 3 and 5 tie on both: earlier wins
    assert top_n_by_answer(candidates, answer, 3, total).tolist() == [0, 3, 5]
    assert top_n_by_answer(candidates, answer, 4, total).tolist() == [0, 3, 5, 2]  # 2: same answer, lower total
    assert top_n_by_answer(candidates, answer, 10, total).tolist() == [0, 3, 5, 2]  # N > C keeps all
    assert top_n_by_answer(np.array([5, 2, 3]), answer, 2).tolist() == [2, 3]  # no totals: index breaks the tie
    assert top_n_by_answer(np.array([], dtype=np.int64), answer, 2).tolist() == []


def test_answer_reward_sums_named_parts() -> None:
    parts = {"tiou": np.array([0.5, 0.0]), "id_match": np.array([1.0, 0.0]), "format_stvg": np.array([1.0, 1.0])}
    total = np.array([2.5, 1.0])
    assert answer_reward(total, parts, ["tiou", "id_match"]).tolist() == [1.5, 0.0]
    assert answer_reward(total, parts, []).tolist() == [2.5, 1.0]
    with pytest.raises(KeyError, match="accuracy"):
        answer_reward(total, parts, ["accuracy"])


def test_self_distillation_loss_is_length_normalised_by_hand() -> None:
    logp = torch.tensor(
        [[-1.0, -2.0, -3.0, -100.0], [-0.5, -100.0, -100.0, -100.0], [-0.2, -0.4, -0.6, -0.8]], requires_grad=True
    )  # [S=3, T=4]; -100 entries are padding and must not count
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]])
    loss = self_distillation_loss(logp, mask)
    # per response: mean NLL 2.0, 0.5, 0.5 -> mean over responses 1.0
    assert loss.item() == pytest.approx(1.0, abs=1e-6)
    loss.backward()
    expected = torch.tensor([[1 / 3, 1 / 3, 1 / 3, 0.0], [1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]) * (
        -1 / 3
    )  # d/dlogp: -1/S * 1/|y_j| on each real token
    torch.testing.assert_close(logp.grad, expected, rtol=0, atol=1e-7)
    # a long response weighs the same as a short one: not the token mean (which would be (6+0.5+2)/8)
    assert loss.item() != pytest.approx(8.5 / 8)
    empty = self_distillation_loss(torch.zeros(0, 4), torch.zeros(0, 4))
    assert empty.item() == 0.0


# --- the hard-sample step on hand-made rollouts --------------------------------------------------------------------


def _rollout(rewards: list[float], lengths: list[int], width: int = 6) -> Rollout:
    ids = torch.arange(len(rewards) * width).reshape(len(rewards), width)
    mask = (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).long()
    return Rollout(ids, mask, [f"r{i}" for i in range(len(rewards))])


def test_hard_sample_step_picks_targets_and_input() -> None:
    raw_prompt = {"input_ids": torch.tensor([[1, 2]])}
    prompted_prompt = {"input_ids": torch.tensor([[3, 4, 5]])}
    prompted_total = np.array([0.2, 0.9, 0.8, 0.6])  # raw mean 0.5 -> candidates 1, 2, 3
    parts = {"answer": np.array([0.0, 0.1, 0.7, 0.7]), "fmt": prompted_total}
    rollout = _rollout(prompted_total.tolist(), [2, 5, 3, 1])
    calls: list[str] = []

    def prompted(variant: str):
        calls.append(variant)
        return prompted_prompt, rollout, prompted_total, parts

    cfg = AdaptiveConfig(enabled=True, threshold=0.6, top_n=2, alpha=0.1, answer_rewards=["answer"])
    raw_total = np.array([0.0, 1.0, 0.5, 0.5])
    out = hard_sample_step(cfg, raw_total, raw_prompt, "id_tags", prompted)
    assert calls == ["id_tags"] and out.hard and out.variant == "id_tags"
    assert out.gain == pytest.approx(0.625 - 0.5)
    assert (out.candidates, out.kept) == (3, 2)
    # answer ties 2 vs 3 (0.7) -> higher total (2: 0.8) first; the target keeps responses 2 and 3, trimmed to width 3
    assert out.target.completion_ids.tolist() == rollout.completion_ids[[2, 3], :3].tolist()
    assert out.target.completion_mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert out.target.prompt is prompted_prompt

    raw_cond = hard_sample_step(AdaptiveConfig(threshold=0.6, condition_on="raw"), raw_total, raw_prompt, "x", prompted)
    assert raw_cond.target.prompt is raw_prompt
    no_sd = hard_sample_step(AdaptiveConfig(threshold=0.6, alpha=0.0), raw_total, raw_prompt, "x", prompted)
    assert no_sd.target is None and no_sd.kept == 2  # prompting without distillation: counted, nothing distilled
    easy = hard_sample_step(cfg, raw_total, raw_prompt, "id_tags", prompted)
    assert easy.hard  # mean 0.5 < 0.6
    n_calls = len(calls)
    assert not hard_sample_step(AdaptiveConfig(threshold=0.5), raw_total, raw_prompt, "x", prompted).hard
    skipped = hard_sample_step(cfg, raw_total, raw_prompt, "raw", prompted)
    assert skipped.hard and skipped.variant is None and skipped.target is None
    assert len(calls) == n_calls  # neither an easy sample nor a `raw` choice rolls out again
    strong = AdaptiveConfig(threshold=1.0, top_n=2, answer_rewards=["answer"])
    beaten = hard_sample_step(strong, np.array([0.85, 0.85, 0.85, 0.85]), raw_prompt, "v", prompted)
    assert (beaten.candidates, beaten.kept) == (1, 1)  # only 0.9 beats the raw mean 0.85: fewer than N kept
    assert beaten.target.completion_ids.tolist() == rollout.completion_ids[[1], :5].tolist()
    assert beaten.gain == pytest.approx(0.625 - 0.85)  # prompting can also lose


# --- variant sources from Parquet ----------------------------------------------------------------------------------


def test_variant_sources_from_parquet(tmp_path: Path) -> None:
    preds = tmp_path / "predictions.parquet"
    pq.write_table(
        pa.table(
            {
                "sample_id": ["a", "a", "b", "c", "c"],
                "variant": ["raw", "spotlight", "id_tags", "boxes", "id_tags"],
                "confidence": [0.3, 0.7, 0.9, 0.5, 0.5],
            }
        ),
        preds,
    )
    sel = load_variant_source(f"selector:{preds}")
    assert [sel.choose(s) for s in ("a", "b", "c", "zzz")] == ["spotlight", "id_tags", "boxes", None]

    labels = tmp_path / "labels.parquet"
    pq.write_table(
        pa.table(
            {
                "sample_id": ["a", "a", "a", "b", "b", "c", "c"],
                "variant": ["raw", "id_tags", "spotlight", "raw", "boxes", "raw", "boxes"],
                "task": ["stvg"] * 7,
                "answer_reward": [0.0, 1.0, 0.5, 0.2, 0.2, 0.0, 0.0],
                "grounding_reward": [0.0, 0.4, 0.9, 0.1, 0.1, 0.0, 0.0],
                "score": [0.0, 1.4, 1.4, 0.3, 0.3, 0.1, 0.2],
                "best_variant": ["spotlight"] * 3 + ["boxes"] * 2 + ["boxes"] * 2,
            }
        ),
        labels,
    )
    orc = load_variant_source(f"oracle:{labels}")
    # a: id_tags and spotlight tie at 1.4, the stored label breaks it; b: tie, label boxes; c: boxes has the best score
    assert [orc.choose(s) for s in ("a", "b", "c")] == ["spotlight", "boxes", "boxes"]

    assert load_variant_source("fixed:id_tags").choose("anything") == "id_tags"
    for bad in ("id_tags", "fixed:", "learned:x.parquet"):
        with pytest.raises(ValueError):
            load_variant_source(bad)
    with pytest.raises(FileNotFoundError):
        load_variant_source(f"selector:{tmp_path / 'none.parquet'}")
    pq.write_table(pa.table({"sample_id": ["a"], "variant": ["raw"]}), tmp_path / "short.parquet")
    with pytest.raises(ValueError, match="confidence"):
        load_variant_source(f"selector:{tmp_path / 'short.parquet'}")

    recipe = tmp_path / "recipe.yaml"  # a YAML's relative Parquet path resolves against the YAML's folder
    recipe.write_text(yaml.safe_dump({"adaptive": {"enabled": True, "variant_source": "selector:predictions.parquet"}}))
    resolved = load_config(recipe).adaptive.variant_source
    assert resolved == f"selector:{preds}"
    assert load_variant_source(resolved).choose("b") == "id_tags"
    assert load_config(recipe, ["adaptive.variant_source=fixed:boxes"]).adaptive.variant_source == "fixed:boxes"

    rows = {("a", "spotlight"): 0, ("b", "raw"): 0}
    with pytest.warns(UserWarning, match="b \\('id_tags'\\)"):
        plan = plan_variants(sel, ["a", "b", "c"], rows)
    assert plan == {"a": "spotlight", "b": None, "c": None}
    assert plan_variants(VariantSource("fixed:raw", fixed="raw"), ["a"], rows) == {"a": "raw"}


# --- a real run ----------------------------------------------------------------------------------------------------


@pytest.fixture()
def one_thread():
    """The tiny model gains nothing from two threads, and on a loaded 2-core machine two OpenMP threads stall."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("tiny") / "qwen25vl-tiny", seed=0)


def tag_and_length(texts: list[str], gts: list, progress: float):
    """Tag presence (learnable) plus a tiny length term, so rewards within a group almost never tie."""
    tags = np.array([sum(tag in t for tag in FORMAT_TAGS) / len(FORMAT_TAGS) for t in texts])
    length = np.array([len(t) / 1000.0 for t in texts])
    return tags + length, {"tag_presence": tags, "length": length}


def _run(model: Path, shards: Path, out: Path, **adaptive: object) -> list[dict]:
    cfg = {
        "model": {"path": str(model)},
        "data": {"shards": [str(shards)], "variant": "raw", "max_frames": 4,
                 "max_pixels_per_frame": 56 * 56, "min_pixels_per_frame": 28 * 28},
        "rollout": {"group_size": 6, "max_new_tokens": 12},
        "loss": {"beta": 0.0},
        "optim": {"lr": 1.0e-2},
        "steps": 2, "prompts_per_step": 1, "save_every": 0, "output_dir": str(out),
        "progress": False, "tensorboard": False,
    }  # fmt: skip
    if adaptive:
        cfg["adaptive"] = {"enabled": True, "threshold": 100.0, "variant_source": "fixed:id_tags", **adaptive}
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    train(load_config(path), reward_fn=tag_and_length)
    return read_metrics(out)


@pytest.mark.slow  # a real adaptive training run
def test_real_run_logs_metrics_and_distils(tiny_model: Path, demo_dataset: Path, tmp_path: Path, one_thread) -> None:
    plain = _run(tiny_model, demo_dataset, tmp_path / "plain")
    no_sd = _run(tiny_model, demo_dataset, tmp_path / "no_sd", alpha=0.0)
    sd = _run(tiny_model, demo_dataset, tmp_path / "sd", alpha=0.5, top_n=2, answer_rewards=["tag_presence"])
    raw_cond = _run(tiny_model, demo_dataset, tmp_path / "raw_cond", alpha=0.5, condition_on="raw")

    assert not any(k.startswith("adaptive/") for k in plain[0])
    for run in (no_sd, sd, raw_cond):
        assert [m["step"] for m in run] == [1, 2]
        for m in run:
            assert m["adaptive/hard_share"] == 1.0  # threshold 100: every sample is hard
            assert "adaptive/gain/id_tags" in m and np.isfinite(m["adaptive/gain/id_tags"])
            assert 0 <= m["adaptive/candidates_kept"] <= min(2, m["adaptive/candidates"])
            assert m["time/adaptive_rollout"] > 0
    assert all("adaptive/l_sd" not in m for m in no_sd)  # alpha 0: nothing distilled
    # same seed, same first raw rollouts: the first step's raw rewards agree across all arms
    for run in (no_sd, sd, raw_cond):
        assert run[0]["reward/total"] == plain[0]["reward/total"]
    # alpha 0 leaves the RL gradient exactly as plain GRPO's ...
    assert no_sd[0]["grad_norm"] == plain[0]["grad_norm"]
    assert no_sd[0]["loss"] == plain[0]["loss"]
    # ... and with targets kept, alpha > 0 adds L_SD > 0 whose gradient changes the update
    for run in (sd, raw_cond):
        kept = [m for m in run if m["adaptive/candidates_kept"] > 0]
        assert kept, "no prompted response beat its raw mean in 2 steps"
        assert all(m["adaptive/l_sd"] > 0 for m in kept)
        if run[0]["adaptive/candidates_kept"] > 0:
            assert run[0]["grad_norm"] != plain[0]["grad_norm"]
            assert run[0]["loss"] == plain[0]["loss"]  # the logged RL loss itself is unchanged
        assert "time/distill" in kept[0]
    assert sd[0]["adaptive/candidates_kept"] > 0 or sd[1]["adaptive/candidates_kept"] > 0


def test_adaptive_run_resumes_exactly(tiny_model: Path, demo_dataset: Path, tmp_path: Path, one_thread) -> None:
    """The extra rollouts draw from the checkpointed random state: a pre-empted, resumed run repeats the full one."""
    knobs = {"enabled": True, "threshold": 100.0, "variant_source": "fixed:spotlight", "alpha": 0.5}
    runs = {}
    for name, stops in (("full", [0]), ("cut", [2, 0])):
        out = tmp_path / name
        cfg = {
            "model": {"path": str(tiny_model)},
            "data": {"shards": [str(demo_dataset)], "variant": "raw", "max_frames": 4,
                     "max_pixels_per_frame": 56 * 56, "min_pixels_per_frame": 28 * 28},
            "rollout": {"group_size": 6, "max_new_tokens": 12}, "loss": {"beta": 0.04}, "optim": {"lr": 1.0e-2},
            "steps": 4, "prompts_per_step": 1, "save_every": 2, "output_dir": str(out),
            "progress": False, "tensorboard": False, "adaptive": knobs,
        }  # fmt: skip
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        for stop in stops:
            train(load_config(path, [f"stop_after_steps={stop}"]), reward_fn=tag_and_length)
        runs[name] = read_metrics(out)
    full, cut = runs["full"], runs["cut"]
    assert [m["step"] for m in full] == [m["step"] for m in cut] == [1, 2, 3, 4]
    assert any(m["adaptive/candidates_kept"] > 0 for m in full[2:])  # distillation is live after the resume point
    for a, b in zip(full, cut):
        keys = [k for k in a if k.startswith(("adaptive/", "reward/", "loss", "grad_norm"))]
        assert keys and set(keys) <= set(b)
        for key in keys:
            assert a[key] == b[key], (a["step"], key, a[key], b[key])


DDP_SCRIPT = """
import sys
import numpy as np
from vctrain.config import load_config
from vctrain.rl.train import train

def reward(texts, gts, progress):
    tags = np.array([sum(t in x for t in ("<think>", "</think>", "<answer>", "</answer>")) / 4 for x in texts])
    length = np.array([len(x) / 1000.0 for x in texts])
    return tags + length, {"tag_presence": tags}

train(load_config(sys.argv[1]), reward_fn=reward)
"""


@pytest.mark.slow  # two torchrun ranks
def test_adaptive_under_torchrun(tiny_model: Path, demo_dataset: Path, tmp_path: Path) -> None:
    """Two gloo ranks: the extra forward/backward of L_SD (run under no_sync) must not upset DDP's reducer."""
    import os
    import subprocess
    import sys

    from safetensors.torch import load_file

    cfg = {
        "model": {"path": str(tiny_model)},
        "data": {"shards": [str(demo_dataset)], "variant": "raw", "max_frames": 4,
                 "max_pixels_per_frame": 56 * 56, "min_pixels_per_frame": 28 * 28},
        "rollout": {"group_size": 6, "max_new_tokens": 12}, "loss": {"beta": 0.0}, "optim": {"lr": 1.0e-2},
        "steps": 2, "prompts_per_step": 2, "save_every": 0, "output_dir": str(tmp_path / "ddp"), "device": "cpu",
        "progress": False, "tensorboard": False,
        "adaptive": {"enabled": True, "threshold": 100.0, "variant_source": "fixed:spotlight", "alpha": 0.5},
    }  # fmt: skip
    (tmp_path / "ddp.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "run.py").write_text(DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29531",
           str(tmp_path / "run.py"), str(tmp_path / "ddp.yaml")]  # fmt: skip
    proc = subprocess.run(cmd, cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    metrics = read_metrics(tmp_path / "ddp")
    assert [m["step"] for m in metrics] == [1, 2]
    assert all(m["adaptive/hard_share"] == 1.0 for m in metrics)
    assert any(m.get("adaptive/l_sd", 0) > 0 for m in metrics)
    weights = load_file(tmp_path / "ddp" / "checkpoints" / "step-000002" / "model" / "model.safetensors")
    assert all(torch.isfinite(w).all() for w in weights.values())
