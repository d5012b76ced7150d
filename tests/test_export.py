"""`vcprep export` writes the row layouts of verl, EasyR1 and TRL.

Each export is loaded the way its framework loads it (`datasets` Parquet for all three), its
prompt is turned into the framework's messages, and the frames it points at (relative to the
export folder, or embedded for TRL) are the shard's frames byte for byte. The TRL prompt also goes
through a real (tiny) Qwen2.5-VL processor. The frameworks' own classes: tests/test_export_frameworks.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from PIL import Image
from shard_recipes import render_small

from vcprep.dataset.reader import iter_rows


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
    assert "timing:" in done.stdout  # the export says how the framework gets the frame times
    return datasets.load_dataset("parquet", data_files=str(out / "train.parquet"), split="train")


def _same_frames(paths: list[str], row: dict, base: Path) -> None:
    """Relative paths (the folder can move) that resolve under the export folder to the shard's bytes."""
    assert len(paths) == len(row["frames"])
    for path, frame in zip(paths, row["frames"]):
        assert not Path(path).is_absolute() and (base / path).read_bytes() == frame["bytes"]
    with Image.open(base / paths[0]) as im:
        assert im.size == (row["frame_width"], row["frame_height"])


def test_verl_layout(small: Path, shard_rows: dict, tmp_path: Path) -> None:
    ds = _export(small, tmp_path / "verl", "verl")
    moved = tmp_path / "moved"  # the folder moves as it is
    shutil.move(tmp_path / "verl", moved)
    assert len(ds) == 12
    assert {"data_source", "prompt", "videos", "ability", "reward_model", "extra_info"} <= set(ds.column_names)
    for i, ex in enumerate(ds):
        row = shard_rows[(ex["extra_info"]["sample_id"], ex["extra_info"]["variant"])]
        assert ex["data_source"] == "vcprep/shard-test" and ex["ability"] == row["task"]  # stvg or temporal_qa
        assert [m["role"] for m in ex["prompt"]] == ["system", "user"]
        assert ex["prompt"][1]["content"].count("<video>") == 1  # verl splits the turn on <video>
        assert row["answer"] and ex["reward_model"] == {"style": "rule", "ground_truth": row["answer"]}
        assert ex["extra_info"]["split"] == "train" and ex["extra_info"]["index"] == i
        assert ex["extra_info"]["gt_span_seconds"] == row["gt_span_seconds"]
        assert ex["extra_info"]["gt_boxes"] == row["gt_boxes"] and ex["extra_info"]["meta"] == row["meta"]
        # verl passes the entry's keys to qwen_vl_utils: a frame list plus its true rate
        assert len(ex["videos"]) == 1
        pts = row["pts_seconds"]
        assert ex["videos"][0]["sample_fps"] == pytest.approx((len(pts) - 1) / (pts[-1] - pts[0]))
        _same_frames(ex["videos"][0]["video"], row, moved)


def test_easyr1_layout_and_variant_filter(small: Path, shard_rows: dict, tmp_path: Path) -> None:
    ds = _export(small, tmp_path / "easyr1", "easyr1", "--variant", "id_tags", "--frames-as", "images")
    assert len(ds) == 6 and set(ds["variant"]) == {"id_tags"}
    for ex in ds:
        row = shard_rows[(ex["sample_id"], "id_tags")]
        assert {"problem", "answer", "images"} <= set(ex) and "videos" not in ex
        # EasyR1's RLHFDataset: one user turn, content split on <image>, one image per frame after its time
        parts = ex["problem"].split("<image>")
        assert len(parts) == len(row["frames"]) + 1 and parts[0].startswith(row["system_prompt"])
        assert [float(p.rsplit("\n", 1)[-1].removesuffix("s: ")) for p in parts[:-1]] == \
            pytest.approx(row["pts_seconds"], abs=0.006)
        truth = json.loads(ex["answer"])  # EasyR1 hands rewards only this column: the whole ground truth
        assert truth["answer"] == row["answer"] and truth["gt_span_seconds"] == row["gt_span_seconds"]
        assert truth["target_id"] == row["target_id"] and truth["meta"] == row["meta"]
        _same_frames(ex["images"], row, tmp_path / "easyr1")


@pytest.mark.slow  # a real VLM processor over every frame
def test_trl_layout_goes_through_a_real_vlm_processor(small: Path, shard_rows: dict, tmp_path: Path) -> None:
    from transformers import AutoProcessor

    from vctrain.tools.tiny import build_tiny_qwen25vl

    ds = _export(small, tmp_path / "trl", "trl", "--variant", "raw")
    assert len(ds) == 6
    ex = ds[0]
    row = shard_rows[(ex["sample_id"], "raw")]
    assert ex["solution"] == (row["answer"] or "") and ex["target_id"] == row["target_id"]
    # conversational prompt: what TRL's GRPOTrainer hands to the processor's chat template
    assert [m["role"] for m in ex["prompt"]] == ["system", "user"]
    # TRL GRPO takes images only: one image part per frame, embedded (datasets decodes them to PIL)
    kinds = [p["type"] for p in ex["prompt"][1]["content"]]
    assert kinds.count("image") == len(row["frames"]) == len(ex["images"])
    assert all(isinstance(im, Image.Image) for im in ex["images"])
    processor = AutoProcessor.from_pretrained(build_tiny_qwen25vl(tmp_path / "tiny"))
    text = processor.apply_chat_template(ex["prompt"], tokenize=False, add_generation_prompt=True)
    assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == len(row["frames"])
    inputs = processor(text=[text], images=ex["images"], return_tensors="pt")
    assert inputs["image_grid_thw"].shape[0] == len(row["frames"])
    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((inputs["input_ids"] == image_pad).sum()) == int(inputs["image_grid_thw"].prod(-1).sum()) // 4


def test_export_refuses_an_unknown_format(small: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "vcprep.cli", "export", str(small), "--to", "openrlhf",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "choose one of verl, easyr1, trl" in done.stderr
