"""Other Qwen VL generations through the same trainer code path, and the frames' true times reaching the processor.

The trainer targets Qwen2.5-VL first and Qwen2-VL / Qwen3-VL "where the processors allow". Each family is built here
as a tiny randomly initialised model from its transformers config (no download; the tokenizer is vctrain.tools.tiny's
BPE with Qwen's special tokens) and trained for one GRPO step with the KL term by `vctrain.rl.train.train` on real demo
shards (reward: the decoded length, so the update is not zero). AutoProcessor / AutoModelForImageTextToText
loading, the chat template, video encoding, `generate`, the reference and policy log-probs, backward, optimizer
step and checkpoint are all exercised.

True times: Qwen2.5-VL spaces its temporal positions by `second_per_grid_ts` (seconds per 2-frame patch) and
Qwen3-VL writes `<t seconds>` before each 2-frame patch; both must come from the shard's frame times, not from
a guessed frame rate. (Qwen2-VL has no time input: only the frame order reaches it.)
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
import yaml

from vctrain.config import DataConfig, load_config
from vctrain.data.reader import index_rows, load_sample
from vctrain.policy.model import encode_prompt, load_processor
from vctrain.rl.runlog import read_metrics
from vctrain.rl.train import train
from vctrain.tools.tiny import (
    CHAT_TEMPLATE,
    QWEN_SPECIAL_TOKENS,
    build_tiny_qwen3vl,
    build_tiny_qwen25vl,
    build_tokenizer,
)

DATA = {"max_frames": 4, "max_pixels_per_frame": 64 * 64, "min_pixels_per_frame": 32 * 32}


def build_tiny_family(family: str, out: Path) -> Path:
    """A tiny random Qwen2-VL (here) or Qwen3-VL (`vctrain.tools.tiny`) + processor saved to `out`."""
    if family == "qwen3-vl":
        return build_tiny_qwen3vl(out)
    tok = build_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    text = {"vocab_size": len(tok), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
            "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"]}  # fmt: skip
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2]}  # sums to head_dim / 2 = 8
    tokens = {"image_token_id": ids["<|image_pad|>"], "video_token_id": ids["<|video_pad|>"],
              "vision_start_token_id": ids["<|vision_start|>"], "vision_end_token_id": ids["<|vision_end|>"],
              "tie_word_embeddings": False}  # fmt: skip
    torch.manual_seed(0)
    vision = {"depth": 2, "embed_dim": 32, "num_heads": 2, "hidden_size": 64, "mlp_ratio": 2}
    model = transformers.Qwen2VLForConditionalGeneration(
        transformers.Qwen2VLConfig(text_config={**text, "rope_parameters": rope}, vision_config=vision, **tokens)
    )
    px = {"shortest_edge": 28 * 28, "longest_edge": 56 * 56 * 4}
    processor = transformers.Qwen2VLProcessor(
        image_processor=transformers.Qwen2VLImageProcessor(size=px),
        video_processor=transformers.Qwen2VLVideoProcessor(size=px),
        tokenizer=tok,
        chat_template=CHAT_TEMPLATE,
    )
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


CLASSES = {"qwen2-vl": "Qwen2VLForConditionalGeneration", "qwen3-vl": "Qwen3VLForConditionalGeneration"}


def family_or_skip(family: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    needed = CLASSES[family]
    if not hasattr(transformers, needed):
        pytest.skip(f"transformers {transformers.__version__} has no {needed}")
    return build_tiny_family(family, tmp_path_factory.mktemp(family) / "model")


def length_reward(texts: list[str], gts: list, progress: float):
    """Decoded length: differs between random responses, so advantages and gradients are non-zero."""
    total = np.array([len(t) / 40.0 for t in texts])
    return total, {"length": total}


@pytest.fixture(scope="module")
def sample(demo_dataset: Path):
    """The demo query's id_tags row with 4 frames, uniformly spread (so their spacing is not one frame rate)."""
    return load_sample(index_rows([str(demo_dataset)], "id_tags")[0], DATA["max_frames"])


@pytest.mark.parametrize("family", ["qwen2-vl", "qwen3-vl"])
def test_one_grpo_step_through_the_trainer(
    family: str, demo_dataset: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    model_dir = family_or_skip(family, tmp_path_factory)
    cfg = {
        "model": {"path": str(model_dir)},
        "data": {"shards": [str(demo_dataset)], "variant": "id_tags", **DATA},
        "rollout": {"group_size": 4, "max_new_tokens": 8},
        "loss": {"algorithm": "grpo", "beta": 0.04},
        "optim": {"lr": 1e-3},
        "steps": 1,
        "prompts_per_step": 1,
        "output_dir": str(tmp_path / "run"),
        "progress": False,
        "tensorboard": False,
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = train(load_config(path), reward_fn=length_reward)
    assert result.steps_done == 1 and result.last_checkpoint.endswith("step-000001")
    (metrics,) = read_metrics(tmp_path / "run")
    for key in ("loss", "loss/kl", "grad_norm", "reward/total", "response_length", "time/reference"):
        assert np.isfinite(metrics[key]), key
    assert 0 < metrics["response_length"] <= 8
    assert metrics["reward/total_std"] > 0 and metrics["grad_norm"] > 0  # non-zero advantages reached the weights

    from safetensors.torch import load_file
    from transformers import AutoModelForImageTextToText

    saved = Path(result.last_checkpoint) / "model"
    reloaded = AutoModelForImageTextToText.from_pretrained(saved)
    assert type(reloaded).__name__ == CLASSES[family]  # loaded by the Auto class as its own family
    before, after = load_file(model_dir / "model.safetensors"), load_file(saved / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the step changed the weights


def test_qwen25vl_temporal_spacing_comes_from_frame_times(sample, tmp_path_factory: pytest.TempPathFactory) -> None:
    processor = load_processor(str(build_tiny_qwen25vl(tmp_path_factory.mktemp("q25") / "model")))
    prompt = encode_prompt(processor, sample, DataConfig(**DATA), torch.device("cpu"))
    pts = np.array(sample.pts_seconds)
    assert len(pts) == 4 and np.ptp(np.diff(pts)) > 0  # uneven spacing: a single assumed fps would be wrong
    # Qwen2.5-VL groups 2 frames per temporal patch: seconds per patch = 2 x the mean spacing of the kept frames
    expected = 2 * (pts[-1] - pts[0]) / (len(pts) - 1)
    assert prompt["second_per_grid_ts"].tolist() == pytest.approx([expected], rel=0.01)


def test_qwen3vl_prompt_timestamps_are_the_frames_times(sample, tmp_path_factory: pytest.TempPathFactory) -> None:
    processor = load_processor(str(family_or_skip("qwen3-vl", tmp_path_factory)))
    prompt = encode_prompt(processor, sample, DataConfig(**DATA), torch.device("cpu"))
    text = processor.tokenizer.decode(prompt["input_ids"][0])
    shown = [float(t) for t in re.findall(r"<([\d.]+) seconds>", text)]
    pts = sample.pts_seconds
    by_hand = [(pts[i] + pts[i + 1]) / 2 for i in range(0, len(pts), 2)]  # the middle of each 2-frame patch
    assert shown == pytest.approx([round(t, 1) for t in by_hand], abs=1e-9)
