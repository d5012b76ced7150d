"""The user-facing recipe: `configs/grpo_demo.yaml` through the `vctrain` CLI on real demo shards.

- `vctrain grpo configs/grpo_demo.yaml key=value ...` trains (tiny random Qwen2.5-VL, 2 steps) and the run folder
  holds what the README promises: config.yaml, metrics.jsonl, TensorBoard events with the same scalars (every
  reward sub-score, KL, clip fraction, response length), a checkpoint, and a progress bar is shown;
- `vctrain eval configs/grpo_demo.yaml --checkpoint ...` scores that checkpoint to JSON + a table;
- `--help` of both commands explains the config, overrides, outputs, torchrun and the eval conventions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from vctrain.cli import app
from vctrain.rl.runlog import read_metrics
from vctrain.tools.tiny import build_tiny_qwen25vl

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "configs" / "grpo_demo.yaml"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("tiny") / "qwen25vl-tiny", seed=0)


@pytest.fixture(scope="module")
def trained_run(tiny_model: Path, demo_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example config run for 2 steps via the CLI, pointed at this session's model and shards."""
    out = tmp_path_factory.mktemp("recipe") / "run"
    args = ["grpo", str(EXAMPLE), f"model.path={tiny_model}", f"data.shards=[{demo_dataset}]", f"output_dir={out}",
            "steps=2", "save_every=2", "progress=true"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 steps; last checkpoint" in result.output
    assert "grpo: 100%" in result.output and "2/2" in result.output  # the progress bar reached the end
    return out


def normalised(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def test_example_config_is_complete_and_portable() -> None:
    from vctrain.config import load_config

    raw = yaml.safe_load(EXAMPLE.read_text())
    cfg = load_config(EXAMPLE)  # unknown keys would fail here
    # relative model and shard paths resolve against configs/, so the recipe works from any working directory
    assert cfg.model.path == str((ROOT / "out" / "tiny-qwen25vl").resolve())
    assert cfg.data.shards == [str((ROOT / "out" / "demo").resolve())]
    assert set(raw) >= {"model", "data", "rollout", "loss", "optim", "rewards", "reward_params", "steps", "eval"}
    assert cfg.rewards == {"format_stvg": 1.0, "tiou": 1.0, "id_match": 1.0} and cfg.loss.beta > 0


@pytest.mark.slow  # two GRPO steps through the CLI
def test_cli_run_writes_metrics_tensorboard_and_checkpoint(trained_run: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    saved = yaml.safe_load((trained_run / "config.yaml").read_text())
    assert saved["steps"] == 2 and saved["output_dir"] == str(trained_run)  # the overrides were applied
    assert saved["rollout"]["group_size"] == 4 and saved["data"]["variant"] == "id_tags"  # the rest is the example
    metrics = read_metrics(trained_run)
    assert [m["step"] for m in metrics] == [1, 2]
    wanted = ["reward/total", "reward/format_stvg", "reward/tiou", "reward/id_match", "loss", "loss/kl",
              "loss/clip_fraction", "response_length", "grad_norm", "lr", "time/rollout", "time/reward",
              "time/reference", "time/policy"]  # fmt: skip
    sub_scores = [k for k in metrics[0] if k.count("/") == 2 and k.startswith("reward/")]  # e.g. reward/tiou/failed
    assert sub_scores, sorted(metrics[0])
    for key in wanted + sub_scores:
        assert all(np.isfinite(m[key]) for m in metrics), key
    assert all(0 < m["response_length"] <= 32 for m in metrics)  # the example's max_new_tokens

    events = EventAccumulator(str(trained_run / "tb"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert set(wanted + sub_scores) <= tags, sorted(set(wanted + sub_scores) - tags)
    for key in ("reward/total", "loss/kl", "response_length"):
        logged = [(e.step, e.value) for e in events.Scalars(key)]
        assert [s for s, _ in logged] == [1, 2]
        assert np.allclose([v for _, v in logged], [m[key] for m in metrics], rtol=1e-6, atol=1e-7)  # float32 vs json

    ckpt = trained_run / "checkpoints" / "step-000002"
    assert (ckpt / "model" / "config.json").is_file() and (ckpt / "trainer_state.json").is_file()


@pytest.mark.slow  # needs the two-step CLI run
def test_cli_eval_scores_the_checkpoint(trained_run: Path, tiny_model: Path, demo_dataset: Path) -> None:
    ckpt = trained_run / "checkpoints" / "step-000002"
    report_path = trained_run / "eval.json"
    args = ["eval", str(EXAMPLE), "--checkpoint", str(ckpt), f"model.path={tiny_model}",
            f"data.shards=[{demo_dataset}]", f"eval.output={report_path}", "eval.max_new_tokens=8",
            "eval.comparison=>=", "progress=false"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["variant"] == "raw" and report["conventions"]["comparison"] == ">="
    stvg = report["metrics"]["stvg"]
    assert 0.0 <= stvg["m_tIoU"] <= 1.0 and 0.0 <= stvg["m_vIoU"] <= 1.0
    assert len(report["samples"]) == 1  # the demo has one query
    assert "m_vIoU" in result.output and str(report_path) in result.output


@pytest.mark.parametrize(
    ("command", "phrases"),
    [
        ("grpo", ["configs/grpo_demo.yaml", "vctrain/config.py", "key.sub=value", "loss.beta=0",
                  "data.variant=column:NAME", "metrics.jsonl", "tb/ (TensorBoard)", "checkpoints/step-NNNNNN/",
                  "resume=never", "torchrun --nproc_per_node N -m vctrain grpo CONFIG [overrides]"]),
        ("eval", ["--checkpoint", "eval.shards", "eval.variant", "eval.comparison='>='", "eval.eval_fps=5",
                  "eval.max_eval_frames=200", "eval.span_frames=truncate", "CHECKPOINT/eval.json"]),
    ],
)  # fmt: skip
def test_help_explains_the_command(command: str, phrases: list[str]) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = normalised(result.output)
    missing = [p for p in phrases if p not in text]
    assert not missing, (missing, text)
