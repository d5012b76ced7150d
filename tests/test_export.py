"""Issue 5: `vcprep export` writes the row layouts of verl, EasyR1 and TRL (SPEC section 6).

Each export is loaded the way its framework loads it (`datasets` Parquet for all three), its
prompt is turned into the framework's messages, and the frames it points at are the shard's
frames byte for byte. The TRL prompt also goes through a real (tiny) Qwen2.5-VL processor.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from PIL import Image
from shard_recipes import render_small

from vcprep.dataset.shards import iter_rows


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    return render_small(tmp_path_factory.mktemp("export"), media_dir, samples_per_shard=10)


@pytest.fixture(scope="module")
def shard_rows(small: Path) -> dict[tuple[str, str], dict]:
    return {(r["sample_id"], r["variant"]): r for r in iter_rows(small)}


def _export(small: Path, out: Path, fmt: str, *extra: str) -> datasets.Dataset:
    done = subprocess.run([sys.executable, "-m", "vcprep.cli", "export", str(small), "--to", fmt, "--out", str(out),
                           *extra], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return datasets.load_dataset("parquet", data_files=str(out / "train.parquet"), split="train")


def _same_frames(paths: list[str], row: dict) -> None:
    assert len(paths) == len(row["frames"])
    for path, frame in zip(paths, row["frames"]):
        assert Path(path).is_absolute() and Path(path).read_bytes() == frame["bytes"]
    with Image.open(paths[0]) as im:
        assert im.size == (row["frame_width"], row["frame_height"])


def test_verl_layout(small: Path, shard_rows: dict, tmp_path: Path) -> None:
    ds = _export(small, tmp_path / "verl", "verl")
    assert len(ds) == 12
    assert {"data_source", "prompt", "videos", "ability", "reward_model", "extra_info"} <= set(ds.column_names)
    for i, ex in enumerate(ds):
        row = shard_rows[(ex["extra_info"]["sample_id"], ex["extra_info"]["variant"])]
        assert ex["data_source"] == "vcprep/shard-test" and ex["ability"] == "stvg"
        assert [m["role"] for m in ex["prompt"]] == ["system", "user"]
        assert ex["prompt"][1]["content"].count("<video>") == 1  # verl splits the turn on <video>
        assert ex["reward_model"] == {"style": "rule", "ground_truth": row["answer"] or ""}  # null answer -> ""
        assert ex["extra_info"]["split"] == "train" and ex["extra_info"]["index"] == i
        assert ex["extra_info"]["gt_span_seconds"] == row["gt_span_seconds"]
        # verl's process_video takes {"video": [frame paths]} (qwen_vl_utils' frame-list form)
        assert len(ex["videos"]) == 1
        _same_frames(ex["videos"][0]["video"], row)


def test_easyr1_layout_and_variant_filter(small: Path, shard_rows: dict, tmp_path: Path) -> None:
    ds = _export(small, tmp_path / "easyr1", "easyr1", "--variant", "id_tags")
    assert len(ds) == 6 and set(ds["variant"]) == {"id_tags"}
    for ex in ds:
        row = shard_rows[(ex["sample_id"], "id_tags")]
        assert {"problem", "answer", "videos"} <= set(ex)
        # EasyR1's RLHFDataset: one user turn, content split on <video>
        parts = ex["problem"].split("<video>")
        assert len(parts) == 2 and parts[0].startswith(row["system_prompt"])
        assert ex["answer"] == (row["answer"] or "")
        _same_frames(ex["videos"][0], row)


def test_trl_layout_goes_through_a_real_vlm_processor(small: Path, shard_rows: dict, tmp_path: Path) -> None:
    from transformers import AutoProcessor

    from vctrain.tiny import build_tiny_qwen25vl

    ds = _export(small, tmp_path / "trl", "trl", "--variant", "raw")
    assert len(ds) == 6
    ex = ds[0]
    row = shard_rows[(ex["sample_id"], "raw")]
    assert ex["solution"] == (row["answer"] or "") and ex["target_id"] == row["target_id"]
    # conversational prompt: what TRL's GRPOTrainer hands to the processor's chat template
    assert [m["role"] for m in ex["prompt"]] == ["system", "user"]
    assert [p["type"] for p in ex["prompt"][1]["content"]] == ["video", "text"]
    processor = AutoProcessor.from_pretrained(build_tiny_qwen25vl(tmp_path / "tiny"))
    text = processor.apply_chat_template(ex["prompt"], tokenize=False, add_generation_prompt=True)
    assert text.count("<|vision_start|><|video_pad|><|vision_end|>") == 1
    frames = [Image.open(p).convert("RGB") for p in ex["videos"][0]]
    inputs = processor(text=[text], videos=[frames], return_tensors="pt")
    t, h, w = inputs["video_grid_thw"][0].tolist()
    assert t == len(frames) // 2  # Qwen2.5-VL merges frame pairs
    video_pad = processor.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    assert int((inputs["input_ids"] == video_pad).sum()) == t * h * w // 4


def test_export_refuses_an_unknown_format(small: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "vcprep.cli", "export", str(small), "--to", "openrlhf",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "choose one of verl, easyr1, trl" in done.stderr
