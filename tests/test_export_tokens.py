"""Visual tokens per row: the image-per-frame form exports used to write against the video form, and the prompt
token report of `vcprep export --processor`.

Hand-derived counts for the small recipe's 256x192 frames at the README's pixel limits (3,136 to 602,112), with
processors whose own limits are wide enough to keep what qwen-vl-utils made (`WIDE`):
- an image (either family's image processor, per image): Qwen2.5-VL (14-pixel patches, resize factor 28)
  rounds 192 x 256 to 196 x 252, a 14 x 18 grid, 2x2 merged into 63 tokens; Qwen3-VL (16-pixel patches, factor
  32) keeps 192 x 256, a 12 x 16 grid, 48 tokens. An image is repeated to fill one 2-frame temporal patch.
- a video as EasyR1 reads it (a clip file): the same sizes, so 63 or 48 tokens per 2-frame patch.
- a video as verl hands it over (a frame list): qwen-vl-utils first reads each frame as an image at twice the
  factor (56 or 64), then resizes the video at the factor. Qwen2.5-VL: 192/56 = 3.4 -> 168, 256/56 = 4.6 -> 280,
  kept by the second pass (multiples of 28), a 12 x 20 grid, 60 tokens; Qwen3-VL: 192 x 256 both times, 48.
The deciding line: `temporal_patch_size = 2` in both image and video processors; a video puts two frames in
each patch.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from framework_commands import tiny_with_video_limits
from shard_recipes import render_small
from test_export_frameworks import MIXED

from vcprep.dataset.export import token_messages
from vcprep.dataset.prompt_tokens import IMAGES, VIDEO, PromptTokenCounter, TokenBudget, video_frame_size
from vcprep.dataset.reader import iter_rows
from vctrain.tools.tiny import TINY_FAMILIES

IMAGE_TOKENS = {"qwen2.5-vl": 63, "qwen3-vl": 48}  # per frame; see the module docstring
CLIP_TOKENS = {"qwen2.5-vl": 63, "qwen3-vl": 48}  # per 2-frame patch of a clip file
FRAME_LIST_TOKENS = {"qwen2.5-vl": 60, "qwen3-vl": 48}  # per 2-frame patch of a frame list
WIDE = {"qwen2.5-vl": {"shortest_edge": 3136, "longest_edge": 12845056},  # per frame
        "qwen3-vl": {"shortest_edge": 4096, "longest_edge": 25165824}}  # per clip (Qwen3-VL's video budget)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    return render_small(tmp_path_factory.mktemp("tokens"), media_dir, MIXED[:2] + MIXED[-1:], variants=["raw"])


def test_frame_sizes_follow_qwen_vl_utils_for_frame_lists_and_clip_files() -> None:
    """The module docstring's sizes, and the limits: a 640x480 frame list at the default limits (no pixel keys)
    and at max_pixels 100,352 (128 tiles of 28), and a long list whose share of the sequence budget rules.
    (Checked once against qwen-vl-utils 0.0.14's own `fetch_video` on 200 sizes, frame counts and limits: all equal;
    the verl test below compares whole prompt lengths with verl's.)"""
    assert video_frame_size(192, 256, 8, factor=28, min_pixels=3136, max_pixels=602112) == (168, 280)
    assert video_frame_size(192, 256, 8, factor=28, min_pixels=3136, max_pixels=602112,
                            frame_list=False) == (196, 252)
    assert video_frame_size(192, 256, 8, factor=32, min_pixels=3136, max_pixels=602112) == (192, 256)
    # 480 x 640 at the defaults: first pass 480/56 = 8.6 -> 504, 640/56 = 11.4 -> 616 (310,464 px, inside the image
    # limits); second pass keeps it (multiples of 28, under 768 x 784 = 602,112)
    assert video_frame_size(480, 640, 32, factor=28) == (504, 616)
    # max_pixels 100,352: first pass beta = sqrt(480 * 640 / 100352) = 1.750 -> 274.3 -> 224, 365.8 -> 336
    # (floored to 56), 75,264 px; the second pass keeps it (inside 3,136 to 100,352)
    assert video_frame_size(480, 640, 32, factor=28, min_pixels=3136, max_pixels=100352) == (224, 336)
    # 1,000 frames: a frame's share is 128000 * 784 * 0.9 / 1000 * 2 = 180,634 px < 310,464, so the second pass
    # scales 504 x 616 by beta = 1.311 -> 384.4 -> 364, 469.9 -> 448 (floored to 28)
    assert video_frame_size(480, 640, 1000, factor=28) == (364, 448)


@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen3-vl"])
def test_a_video_costs_half_the_visual_tokens_of_image_frames(family: str, small: Path, tmp_path: Path) -> None:
    model = tiny_with_video_limits(family, tmp_path / "tiny", WIDE[family])
    counter = PromptTokenCounter(TokenBudget(str(model), 3136, 602112))
    tok = counter.processor.tokenizer
    image_pad, video_pad = tok.convert_tokens_to_ids("<|image_pad|>"), tok.convert_tokens_to_ids("<|video_pad|>")
    for row in iter_rows(small):
        n = len(row["frames"])
        rate = (n - 1) / (row["pts_seconds"][-1] - row["pts_seconds"][0])
        old = counter.encode(token_messages(row, IMAGES, "verl"), row, IMAGES, rate)[0]
        listed = counter.encode(token_messages(row, VIDEO, "verl"), row, VIDEO, rate)[0]
        clip = counter.encode(token_messages(row, VIDEO, "easyr1"), row, VIDEO, rate, frame_list=False)[0]
        assert (row["frame_width"], row["frame_height"]) == (256, 192)
        assert int((old == image_pad).sum()) == n * IMAGE_TOKENS[family]  # old form: one image per frame
        assert int((listed == video_pad).sum()) == math.ceil(n / 2) * FRAME_LIST_TOKENS[family]  # two frames a patch
        assert int((clip == video_pad).sum()) == math.ceil(n / 2) * CLIP_TOKENS[family]
        assert int((old == video_pad).sum()) == int((listed == image_pad).sum()) == 0


@pytest.mark.slow
def test_export_reports_tokens_per_row_in_its_summary_and_card_and_names_rows_over_the_limit(
    small: Path, tmp_path: Path
) -> None:
    tiny = TINY_FAMILIES["qwen2.5-vl"](tmp_path / "tiny")
    args = [sys.executable, "-m", "vcprep.cli", "export", str(small), "--to", "easyr1", "--out", str(tmp_path / "x"),
            "--processor", str(tiny), "--min-pixels", "3136", "--max-pixels", "602112"]
    done = subprocess.run([*args, "--max-prompt-length", "100000"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("prompt tokens per row"))
    low, mid, high = (float(part.split()[-1]) for part in line.split(":", 1)[1].split(","))
    assert 0 < low <= mid <= high and "exceed" not in done.stdout
    card = (tmp_path / "x" / "README.md").read_text()
    assert f"| {int(low)} | {mid:g} | {int(high)} | 3 | 100000 |" in card
    # a limit between the shortest and the longest row: the longer rows are named, with their token counts
    done = subprocess.run([*args, "--max-prompt-length", str(int(low))], capture_output=True, text=True, timeout=300)
    warning = next(ln for ln in done.stdout.splitlines() if "exceed max_prompt_length" in ln)
    assert f"({int(high)} tokens)" in warning and warning.startswith("warning: ")
    assert "exceed max_prompt_length" in (tmp_path / "x" / "README.md").read_text()


def test_an_easyr1_video_export_counted_for_qwen3_vl_warns_that_its_times_cannot_reach_the_model(
    small: Path, tmp_path: Path
) -> None:
    """EasyR1 hands a clip to the processor without metadata, and Qwen3-VL's timestamp text comes from it: the
    export says so and names the way that works; Qwen2.5-VL (spacing from the clip's rate) is not warned."""
    from vcprep.dataset.export import ExportOptions, export_dataset

    warned = {}
    for family in ("qwen3-vl", "qwen2.5-vl"):
        budget = TokenBudget(str(TINY_FAMILIES[family](tmp_path / family)), 3136, 602112)
        for frames_as in (VIDEO, IMAGES):
            result = export_dataset(small, tmp_path / f"{family}-{frames_as}", to="easyr1",
                                    options=ExportOptions("easyr1", frames_as=frames_as, tokens=budget))
            warned[family, frames_as] = [w for w in result.warnings() if "metadata" in w]
    assert warned["qwen3-vl", VIDEO] and "--frames-as images" in warned["qwen3-vl", VIDEO][0]
    assert not warned["qwen3-vl", IMAGES] and not warned["qwen2.5-vl", VIDEO] and not warned["qwen2.5-vl", IMAGES]
    card = (tmp_path / "qwen3-vl-video" / "README.md").read_text()
    assert "EasyR1 does not pass" in card
