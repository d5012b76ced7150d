"""Visual tokens per row: the image-per-frame form exports used to write against the video form, and the prompt
token report of `vcprep export --processor`.

Hand-derived counts for the small recipe's 256x192 frames at the README's pixel limits (3,136 to 602,112):
- Qwen2.5-VL (14-pixel patches, resize factor 28): smart_resize(192, 256) = 196 x 252, a 14 x 18 grid, 2x2 merged
  into 63 tokens for one temporal patch;
- Qwen3-VL (16-pixel patches, factor 32): 192 x 256 as is, a 12 x 16 grid, 48 tokens.
The deciding line: `temporal_patch_size = 2` in both image and video processors. An image is repeated to fill one
2-frame temporal patch (63 or 48 tokens per frame), while a video puts two frames in each patch (per 2 frames).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from shard_recipes import render_small
from test_export_frameworks import MIXED

from vcprep.dataset.export import token_messages
from vcprep.dataset.prompt_tokens import IMAGES, VIDEO, PromptTokenCounter, TokenBudget
from vcprep.dataset.reader import iter_rows
from vctrain.tools.tiny import TINY_FAMILIES

TOKENS_PER_PATCH = {"qwen2.5-vl": 63, "qwen3-vl": 48}  # see the module docstring


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Path:
    return render_small(tmp_path_factory.mktemp("tokens"), media_dir, MIXED[:2] + MIXED[-1:], variants=["raw"])


@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen3-vl"])
def test_a_video_costs_half_the_visual_tokens_of_image_frames(family: str, small: Path, tmp_path: Path) -> None:
    counter = PromptTokenCounter(TokenBudget(str(TINY_FAMILIES[family](tmp_path / "tiny")), 3136, 602112))
    tok = counter.processor.tokenizer
    image_pad, video_pad = tok.convert_tokens_to_ids("<|image_pad|>"), tok.convert_tokens_to_ids("<|video_pad|>")
    per_patch = TOKENS_PER_PATCH[family]
    for row in iter_rows(small):
        n = len(row["frames"])
        rate = (n - 1) / (row["pts_seconds"][-1] - row["pts_seconds"][0])
        old = counter.encode(token_messages(row, IMAGES, "verl"), row, IMAGES, rate)[0]
        new = counter.encode(token_messages(row, VIDEO, "verl"), row, VIDEO, rate)[0]
        assert (row["frame_width"], row["frame_height"]) == (256, 192)
        assert int((old == image_pad).sum()) == n * per_patch  # old form: one image per frame
        assert int((new == video_pad).sum()) == math.ceil(n / 2) * per_patch  # new form: two frames per patch
        assert int((old == video_pad).sum()) == int((new == image_pad).sum()) == 0


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
