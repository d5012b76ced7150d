"""`vctrain plan` against reality: parameter counts of models built on the meta device, and the per-rank memory
parts against what a real training step holds on CPU (tiny and small Qwen2.5-VL; FSDP shards in
tests/test_vctrain_fsdp.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vctrain.cli import app
from vctrain.config import DataConfig, ModelConfig
from vctrain.data.reader import VideoSample
from vctrain.policy.model import completion_logprobs, encode_prompt, load_model, load_processor
from vctrain.scale.plan import Workload, activation_bytes, model_shape, plan_memory
from vctrain.tools.tiny import TinySizes, build_tiny_qwen25vl

ROOT = Path(__file__).resolve().parents[1]
ACTIVATION_RTOL = 0.10  # planner's saved activations vs autograd's saved tensors
SIZES = {
    "tiny": TinySizes(),
    "small": TinySizes(hidden_size=256, num_hidden_layers=4, num_attention_heads=8, vision_depth=4,
                       vision_hidden_size=128),
}  # fmt: skip


@pytest.mark.parametrize(("name", "params"), [("qwen2.5-vl-3b", 3_754_622_976), ("qwen2.5-vl-7b", 8_292_166_656)])
def test_paper_models_on_the_meta_device(name: str, params: int) -> None:
    shape = model_shape(ROOT / "configs" / "models" / name)  # config.json only: no weights exist here
    assert shape.params == params  # the Hub's published sizes: 3.75 B and 8.29 B
    assert shape.vision_depth == 32 and shape.largest_unit < shape.params / shape.layers


def _bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@pytest.mark.slow  # a measured training step of a small model
@pytest.mark.parametrize("name", list(SIZES))
def test_planner_against_a_measured_step(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = build_tiny_qwen25vl(tmp_path / name, sizes=SIZES[name])
    model = load_model(str(path), ModelConfig(path=str(path)), torch.device("cpu"), trainable=True)
    frames, side, group, steps = 8, 112, 4, 16
    pixels = np.random.default_rng(0).integers(0, 255, (frames, side, side, 3), dtype=np.uint8)
    sample = VideoSample("s", "raw", pixels, [i / 2 for i in range(frames)], list(range(0, 2 * frames, 2)), 2.0,
                         "You are a helpful assistant.", "<video> Who walks alone?", {})  # fmt: skip
    data = DataConfig(max_frames=frames, max_pixels_per_frame=side * side, min_pixels_per_frame=28 * 28)
    prompt = encode_prompt(load_processor(str(path)), sample, data, torch.device("cpu"))
    ids = torch.randint(10, 300, (group, steps))
    mask = torch.ones(group, steps, dtype=torch.long)

    param_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in param_storages:
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logp = completion_logprobs(model, prompt, ids, mask)  # [G, T]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    logp.mean().backward()
    optimizer.step()

    shape = model_shape(path)
    assert shape.params == sum(p.numel() for p in model.parameters())
    video_tokens = int((prompt["input_ids"] == model.config.video_token_id).sum())
    work = Workload(group, frames, side * side, steps, prompt_text_tokens=prompt["input_ids"].shape[1] - video_tokens,
                    reference=False, bf16=False)  # fmt: skip
    assert work.vision_patches(shape) == prompt["pixel_values_videos"].shape[0]
    plan = plan_memory(shape, work, "ddp", gpus=1)
    assert plan.parts["weights"] == _bytes(model.parameters())
    assert plan.parts["gradients"] == _bytes(p.grad for p in model.parameters())
    states = [v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0]
    assert plan.parts["optimizer"] == _bytes(states)
    acts = activation_bytes(shape, work)
    planned, measured = acts["text"] + acts["vision"] + acts["logits"], sum(saved.values())
    error = planned / measured - 1
    print(f"{name}: {shape.params} parameters, activations planned {planned} B, measured {measured} B ({error:+.1%})")
    assert abs(error) < ACTIVATION_RTOL


def test_cli_plan_picks_fsdp_for_7b_on_8_gpus() -> None:
    result = CliRunner().invoke(app, ["plan", str(ROOT / "configs" / "paper_7b.yaml"), "--gpus", "8",
                                      "--gpu-memory-gb", "80"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[-1] for line in result.output.splitlines() if line[:4] in ("ddp ", "fsdp")}
    assert rows == {"ddp": "no", "fsdp": "yes", "fsdp+offload": "yes"}
    assert "fits: train.strategy=fsdp" in result.output and "8.29 B parameters" in result.output
