"""FSDP2 on CPU with gloo and 2 ranks (real torchrun, real torch.distributed.checkpoint), against one process.

One torchrun launch runs: an uninterrupted FSDP run; the same run pre-empted after 2 steps and resumed from its
sharded checkpoint; a run where only one rank's sample is hard (the other joins its collective forward passes);
a run with activation checkpointing; and a memory probe of one sharded step for the planner. Every run has
VisionCoach's adaptive step and the KL reference on, so the sharded reference and the distillation pass are
exercised too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from test_vctrain_train import write_config

from vctrain.config import load_config
from vctrain.rl.runlog import read_metrics
from vctrain.rl.train import train
from vctrain.tools.tiny import build_tiny_qwen25vl

pytestmark = pytest.mark.slow  # torchrun with two FSDP ranks, several runs (one fixture)
ROOT = Path(__file__).resolve().parents[1]
LOSS_RTOL = 1e-4  # FSDP vs one process: same rollouts, gradients summed in another order (float32 rounding)
KEYS = ("loss", "loss/policy_loss", "loss/kl", "reward/total", "grad_norm", "adaptive/l_sd")

SCRIPT = """
import json, os, sys
import numpy as np
import torch
from vctrain.config import load_config
from vctrain.rl.train import train

TAGS = ("<think>", "</think>", "<answer>", "</answer>")

def reward(texts, gts, progress):
    tags = np.array([sum(t in x for t in TAGS) / 4 for x in texts])
    return tags + np.array([len(x) / 1000.0 for x in texts]), {"tag_presence": tags}

def rank_dependent(texts, gts, progress):  # rank 0 is never hard, rank 1 always
    total, parts = reward(texts, gts, progress)
    return total + (10.0 if os.environ["RANK"] == "0" else 0.0), parts

out = sys.argv[2]
train(load_config(sys.argv[1], [f"output_dir={out}/full"]), reward_fn=reward)
train(load_config(sys.argv[1], [f"output_dir={out}/cut", "stop_after_steps=2"]), reward_fn=reward)
result = train(load_config(sys.argv[1], [f"output_dir={out}/cut"]), reward_fn=reward)
assert result.resumed_from.endswith("step-000002"), result.resumed_from
train(load_config(sys.argv[1], [f"output_dir={out}/uneven", "steps=1", "adaptive.threshold=5.0"]),
      reward_fn=rank_dependent)
recompute = [f"output_dir={out}/recompute", "stop_after_steps=2", "model.gradient_checkpointing=true"]
train(load_config(sys.argv[1], recompute), reward_fn=reward)

# memory probe: one real sharded training step; what each rank really holds afterwards
from vctrain.rl.train import Timers, _next_sample, collect_group, setup, update_policy
run = setup(load_config(sys.argv[1], [f"output_dir={out}/probe", "adaptive.enabled=false", "loss.beta=0"]), reward)
sample = _next_sample(run.refs, run.order, run.dist.rank, run.cfg)
update_policy(run, [collect_group(run, sample, run.dist.rank, Timers(run.dist.device), 0.0)], Timers(run.dist.device))
model, opt, dist = run.policy, run.optimizer, run.dist
local = lambda t: t.to_local() if hasattr(t, "to_local") else t
nbytes = lambda ts: sum(local(t).numel() * local(t).element_size() for t in ts)
probe = {
    "weights": nbytes(model.parameters()),
    "gradients": nbytes(p.grad for p in model.parameters() if p.grad is not None),
    "optimizer": nbytes(v for s in opt.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0),
}
with open(f"{out}/memory-rank{dist.rank}.json", "w") as fh:
    json.dump(probe, fh)
"""


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("tiny") / "qwen25vl-tiny", seed=0)


def reward(texts: list[str], gts: list, progress: float):
    """The script's reward (tags + a length bonus: rarely tied, so advantages are not zero)."""
    tags = np.array([sum(t in x for t in ("<think>", "</think>", "<answer>", "</answer>")) / 4 for x in texts])
    return tags + np.array([len(x) / 1000.0 for x in texts]), {"tag_presence": tags}


@pytest.fixture(scope="module")
def runs(tiny_model: Path, demo_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fsdp")
    common = {"steps": 3, "save_every": 0, "device": "cpu", "rollout__group_size": 4, "rollout__max_new_tokens": 12,
              "loss__updates_per_rollout": 2}  # fmt: skip
    single = write_config(root / "single.yaml", tiny_model, demo_dataset, root / "single", prompts_per_step=2, **common)
    sharded = write_config(root / "fsdp.yaml", tiny_model, demo_dataset, root / "unused", prompts_per_step=1, **common)
    for path in (single, sharded):
        raw = yaml.safe_load(path.read_text())
        raw["adaptive"] = {"enabled": True, "threshold": 100.0, "variant_source": "fixed:spotlight", "alpha": 0.5}
        if path == sharded:
            raw["train"] = {"strategy": "fsdp"}
        path.write_text(yaml.safe_dump(raw))
    torch.set_num_threads(1)
    train(load_config(single), reward_fn=reward)  # one process, the 2 prompts of each step in turn
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    (root / "run.py").write_text(SCRIPT)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541",
           str(root / "run.py"), str(sharded), str(root)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return root


def test_fsdp_matches_one_process(runs: Path) -> None:
    single, fsdp = read_metrics(runs / "single"), read_metrics(runs / "full")
    assert [m["step"] for m in single] == [m["step"] for m in fsdp] == [1, 2, 3]
    assert any(m.get("adaptive/candidates_kept", 0) > 0 for m in single)  # distillation is live
    assert any(m["loss/kl"] > 0 for m in single[1:])  # so is the sharded reference
    worst = 0.0
    for a, b in zip(single, fsdp):
        for key in KEYS:
            if key in a or key in b:
                assert np.isclose(a[key], b[key], rtol=LOSS_RTOL, atol=1e-7), (a["step"], key, a[key], b[key])
                worst = max(worst, abs(a[key] - b[key]) / max(abs(a[key]), 1e-12))
    print(f"largest relative difference FSDP(2 ranks) vs one process: {worst:.2e}")
    # the sharded run's checkpoint is a plain Hugging Face folder with the same weights
    from safetensors.torch import load_file

    wa = load_file(runs / "single" / "checkpoints" / "step-000003" / "model" / "model.safetensors")
    wb = load_file(runs / "full" / "checkpoints" / "step-000003" / "model" / "model.safetensors")
    assert wa.keys() == wb.keys()
    assert all(torch.allclose(wa[k], wb[k], rtol=1e-4, atol=1e-6) for k in wa)
    ckpt = runs / "full" / "checkpoints" / "step-000003"
    from transformers import AutoModelForImageTextToText

    reloaded = AutoModelForImageTextToText.from_pretrained(ckpt / "model")  # what `vctrain eval` loads
    assert torch.equal(reloaded.state_dict()["lm_head.weight"], wb["lm_head.weight"])
    assert json.loads((ckpt / "trainer_state.json").read_text())["strategy"] == "fsdp"
    assert (ckpt / "dcp" / ".metadata").is_file() and not (ckpt / "optimizer.pt").exists()


def test_fsdp_resumes_exactly(runs: Path) -> None:
    full, cut = read_metrics(runs / "full"), read_metrics(runs / "cut")
    assert [m["step"] for m in cut] == [1, 2, 3]
    assert (runs / "cut" / "checkpoints" / "step-000002" / "dcp").is_dir()
    for a, b in zip(full, cut):
        for key in KEYS:
            assert a.get(key) == b.get(key), (a["step"], key, a.get(key), b.get(key))


def test_fsdp_ranks_with_different_hard_samples(runs: Path) -> None:
    (m,) = read_metrics(runs / "uneven")
    assert m["adaptive/hard_share"] == 0.5  # averaged over ranks: one hard, one not; no deadlock


def test_planner_matches_sharded_memory(runs: Path, tiny_model: Path) -> None:
    """Each rank holds 1/2 of the weights, gradients and AdamW states, as `vctrain plan` says (FSDP pads each
    parameter's first dimension to a multiple of the ranks: within 2%)."""
    from vctrain.scale.plan import Workload, model_shape, plan_memory

    shape = model_shape(tiny_model)
    plan = plan_memory(shape, Workload(4, 4, 56 * 56, 12, reference=False, bf16=False), "fsdp", gpus=2)
    for rank in (0, 1):
        measured = json.loads((runs / f"memory-rank{rank}.json").read_text())
        for part in ("weights", "gradients", "optimizer"):
            error = measured[part] / plan.parts[part] - 1
            print(f"rank {rank} {part}: measured {measured[part]} B, planned {plan.parts[part]} B ({error:+.2%})")
            assert abs(error) < 0.02, (rank, part)


def test_fsdp_with_activation_checkpointing(runs: Path) -> None:
    """Recomputing each layer in the backward changes nothing in the numbers (same rollouts, same gradients)."""
    full, recompute = read_metrics(runs / "full"), read_metrics(runs / "recompute")
    assert [m["step"] for m in recompute] == [1, 2]
    for a, b in zip(full, recompute):
        for key in KEYS:
            assert np.isclose(a.get(key, 0.0), b.get(key, 0.0), rtol=LOSS_RTOL, atol=1e-7), (a["step"], key)
