"""Checkpoints are safe to resume from and always there when a run stops.

- a pickle payload planted in a run folder (`rng-rank0.pt`, `optimizer.pt`, DCP's `.metadata`) is refused with a
  clear error and never runs;
- `stop_after_steps` below `save_every` still leaves a checkpoint, and the next invocation says what it resumed from.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
import torch
from test_vctrain_train import tag_presence_rewards, write_config

from vctrain.config import load_config
from vctrain.rl.train import train
from vctrain.scale.checkpoint import UnsafeCheckpointError, _safe_reader, read_trainer_state, safe_torch_load
from vctrain.tools.tiny import build_tiny_qwen25vl


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen25vl(tmp_path_factory.mktemp("tiny") / "qwen25vl-tiny", seed=0)


class Payload:
    """Unpickling this writes a marker file: what an attacker's `__reduce__` would do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


@pytest.fixture(scope="module")
def stopped_run(tiny_model: Path, demo_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 of 4 steps with save_every 10 (the shipped recipe's setting): the stop itself must write a checkpoint."""
    root = tmp_path_factory.mktemp("stop")
    cfg = write_config(root / "cut.yaml", tiny_model, demo_dataset, root / "run", steps=4, prompts_per_step=1,
                       save_every=10, loss__updates_per_rollout=1)  # fmt: skip
    result = train(load_config(cfg, ["stop_after_steps=3"]), reward_fn=tag_presence_rewards)
    assert result.steps_done == 3 and result.resumed_from is None
    assert result.last_checkpoint is not None and result.last_checkpoint.endswith("step-000003")
    return root


@pytest.mark.slow  # two training runs and a resume
def test_stop_saves_and_resume_says_where_from(stopped_run: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt = stopped_run / "run" / "checkpoints" / "step-000003"
    assert read_trainer_state(ckpt)["step"] == 3
    capsys.readouterr()
    result = train(load_config(stopped_run / "cut.yaml"), reward_fn=tag_presence_rewards)
    err = capsys.readouterr().err
    assert result.steps_done == 4 and result.resumed_from == str(ckpt)
    assert f"resumed from {ckpt} (step 3 of 4" in err
    assert (stopped_run / "run" / "checkpoints" / "step-000004").is_dir()  # the end saves too


def test_planted_pickles_do_not_run(stopped_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(stopped_run / "run", run)
    ckpt = run / "checkpoints" / "step-000003"
    marker = tmp_path / "marker.txt"
    for victim in ("rng-rank0.pt", "optimizer.pt"):
        original = (ckpt / victim).read_bytes()
        torch.save({"state": Payload(marker)}, ckpt / victim)  # a real torch file whose pickle runs code
        with pytest.raises(UnsafeCheckpointError, match="refused to load"):
            safe_torch_load(ckpt / victim)
        cfg = load_config(stopped_run / "cut.yaml", [f"output_dir={run}", f"resume={ckpt}"])
        with pytest.raises(UnsafeCheckpointError, match=victim):
            train(cfg, reward_fn=tag_presence_rewards)
        assert not marker.exists(), f"{victim}: the payload ran"
        (ckpt / victim).write_bytes(original)
    # an old-style pickled trainer_state.pt is never read
    (ckpt / "trainer_state.json").unlink()
    torch.save(Payload(marker), ckpt / "trainer_state.pt")
    with pytest.raises(FileNotFoundError, match="never loaded"):
        read_trainer_state(ckpt)
    assert not marker.exists()


def test_planted_dcp_metadata_does_not_run(tmp_path: Path) -> None:
    """DCP reads its `.metadata` with plain pickle; vctrain reads it through an allow-list."""
    import torch.distributed.checkpoint as dcp

    good = tmp_path / "dcp"
    dcp.save({"w": torch.arange(4.0)}, checkpoint_id=str(good), no_dist=True)
    assert _safe_reader(good).read_metadata() is not None  # a real DCP metadata file passes
    marker = tmp_path / "marker.txt"
    (good / ".metadata").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(UnsafeCheckpointError, match="refused to load"):
        _safe_reader(good).read_metadata()
    from torch.distributed.checkpoint.api import CheckpointException

    with pytest.raises(CheckpointException):  # DCP wraps the refusal; what matters is that nothing ran
        dcp.load({"w": torch.zeros(4)}, storage_reader=_safe_reader(good), no_dist=True)
    assert not marker.exists()
