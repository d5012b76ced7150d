"""The README's framework commands, run as written, for Qwen2.5-VL and Qwen3-VL.

One source: README.md quotes examples/verl_grpo.sh, examples/easyr1_grpo.sh and examples/trl_grpo.py verbatim
(checked here), and these tests run those files. verl: the script's overrides go through verl 0.9.1's own config
composition (`ppo_trainer`) and `validate_config`, then its `create_rl_dataset` (the script's `data.custom_cls`
and prompt-length filter) must keep every demo row and every row of the timing datasets, and the times the model
gets must be the frames' true times: Qwen2.5-VL's `second_per_grid_ts` is twice the row's frame spacing (the
processor turns 2 frames into one temporal patch), Qwen3-VL's `<t seconds>` text is the mean true time of each
2-frame patch (`Qwen3VLProcessor._calculate_timestamps`), printed to 0.1 s. TRL: the snippet trains two steps on
two exports read together. EasyR1's own code runs outside this repository (it pins transformers < 5).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from framework_commands import ROOT, command_args, example, readme_blocks, tiny_with_video_limits
from shard_recipes import render_small
from test_export_frameworks import AT_2FPS, MIXED, VERL_PYTHON

from vcprep.dataset.export import ExportOptions, export_dataset, sample_fps, token_messages
from vcprep.dataset.prompt_tokens import VIDEO, PromptTokenCounter, TokenBudget
from vcprep.dataset.reader import iter_rows
from vctrain.tools.tiny import TINY_FAMILIES

PATCH = {"qwen2.5-vl": 14, "qwen3-vl": 16}
VERL_KEEPS_WRAPPER = True
"""verl's environment pins transformers < 5.11 (Makefile, install-verl), whose Qwen3-VL processor keeps the chat
template's vision start/end pair around a video."""
needs_verl = pytest.mark.skipif(not VERL_PYTHON.is_file() and "VCPREP_VERL_PYTHON" not in os.environ,
                                reason="verl's environment is missing: run `make install-verl`")


def test_readme_quotes_the_example_files_verbatim() -> None:
    blocks = readme_blocks()
    for name in ("verl_grpo.sh", "easyr1_grpo.sh", "trl_grpo.py"):
        assert example(name) in blocks, f"README.md does not quote examples/{name} as it is"


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory, media_dir: Path, demo_dataset: Path) -> dict:
    """The demo dataset, a mixed-task one at 1 fps (with a capped uneven row) and one at 2 fps, each exported for
    verl under one root, and their shard rows by `sample_id/variant`."""
    base = tmp_path_factory.mktemp("readme")
    mixed = render_small(base / "mixed", media_dir, MIXED, variants=["raw"], samples_per_shard=8)
    fast = render_small(base / "fast", media_dir, AT_2FPS, variants=["raw"], sampling={"fps": 2.0, "max_frames": 16})
    root, files, rows = base / "exports", [], {}
    for name, source in (("demo", demo_dataset), ("mixed", mixed), ("fast", fast)):
        result = export_dataset(source, root / f"{name}_verl", to="verl", options=ExportOptions("verl", path_root=root))
        files.append(result.path.relative_to(root).as_posix())
        rows.update({f"{r['sample_id']}/{r['variant']}": r for r in iter_rows(source)})
    return {"root": root, "files": files, "rows": rows}


def _patch_times(pts: list[float]) -> list[float]:
    """Qwen3-VL's timestamp per 2-frame patch: the mean of the pair's times (an odd last frame is repeated)."""
    padded = pts + pts[-1:] * (len(pts) % 2)
    return [(padded[i] + padded[i + 1]) / 2 for i in range(0, len(padded), 2)]


def check_verl_readme_command(family: str, exports: dict, tmp_path: Path, *, count_rows: int | None = None) -> dict:
    """Run examples/verl_grpo.sh's overrides through verl's own config composition, validation and dataset class
    on `exports` (`root`, `files` under it, shard `rows` by `sample_id/variant`); assert every row is kept within
    the prompt length and the model gets each frame's true time, and that `vcprep export --processor` counts each
    row's prompt as verl does (all rows, or the `count_rows` longest). Returns verl's rows by sample id."""
    model = tiny_with_video_limits(family, tmp_path / "tiny")
    env = {"TRAIN_FILES": "[" + ",".join(exports["files"]) + "]", "MODEL": str(model), "PATCH": str(PATCH[family]),
           "VCTRAIN": str(ROOT / "vctrain"), "EXPORTS": str(exports["root"])}
    overrides = command_args(example("verl_grpo.sh"), "python -m verl.trainer.main_ppo", env)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"overrides": overrides, "exports": env["EXPORTS"]}))
    done = subprocess.run([str(VERL_PYTHON), str(ROOT / "tests" / "verl_readme_check.py"), str(spec),
                           str(tmp_path / "out.json")], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["dataset_class"] == "TrueTimesRLHFDataset"
    assert report["kept"] == len(exports["rows"])  # every row survives verl's prompt-length filter
    assert report["batches"] >= 1
    for got in report["rows"]:
        pts = exports["rows"][f"{got['sample_id']}/{got['variant']}"]["pts_seconds"]
        assert got["prompt_tokens"] <= report["max_prompt_length"]
        if family == "qwen2.5-vl":  # spacing only: one rate per row (uneven rows get their mean, and are warned of)
            assert got["second_per_grid_ts"] == [pytest.approx(2 * (pts[-1] - pts[0]) / (len(pts) - 1), rel=1e-6)]
        else:  # every patch's own time, uneven rows included
            assert got["timestamps"] == pytest.approx(_patch_times(pts), abs=0.05 + 1e-6), got
    # `vcprep export --processor` counts what verl counts, row by row (qwen-vl-utils' resize, then the processor's),
    # up to the one thing that depends on the transformers version: verl's (< 5.11) keeps the chat template's
    # <|vision_start|>...<|vision_end|> pair around a Qwen3-VL video's per-patch blocks, 2 tokens that ours (5.2x)
    # collapses; seen in verl's own decoded prompt
    counter = PromptTokenCounter(TokenBudget(str(model)))
    longest = sorted(report["rows"], key=lambda got: -got["prompt_tokens"])
    for got in longest[:count_rows]:  # every row, or the `count_rows` longest (counting full frames takes time)
        row = exports["rows"][f"{got['sample_id']}/{got['variant']}"]
        counted = counter.count(token_messages(row, VIDEO, "verl"), row, VIDEO, sample_fps(row["pts_seconds"]))
        assert counted + 2 * got["wrapped_videos"] == got["prompt_tokens"], (got["sample_id"], counted, got)
        assert got["wrapped_videos"] == (1 if family == "qwen3-vl" and VERL_KEEPS_WRAPPER else 0)
    return {got["sample_id"]: got for got in report["rows"]}


@pytest.mark.slow
@needs_verl
@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen3-vl"])
def test_verl_readme_command_is_accepted_keeps_every_row_and_gives_true_times(
    family: str, exports: dict, tmp_path: Path
) -> None:
    by_id = check_verl_readme_command(family, exports, tmp_path)
    assert {"stvg-2fps", "tq-1", "uneven-1"} <= set(by_id)  # 2 fps, 1 fps, the uneven capped row


@pytest.mark.slow
@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen3-vl"])
def test_trl_readme_snippet_trains_on_two_exports(
    family: str, tmp_path_factory: pytest.TempPathFactory, media_dir: Path, tmp_path: Path
) -> None:
    base = tmp_path_factory.mktemp("trl")
    files = []
    for k, records in enumerate((MIXED[:2], AT_2FPS)):  # the second export has no MCQ rows: typed empty options
        source = render_small(base / f"src{k}", media_dir, records, variants=["raw"])
        files.append(str(export_dataset(source, base / f"trl{k}", to="trl").path))
    model = TINY_FAMILIES[family](tmp_path / "tiny")
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "trl_grpo.py"), "--model", str(model), "--train-files", *files,
         "--output-dir", str(tmp_path / "run"), "--max-steps", "2", "--max-completion-length", "8", "--use-cpu"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    state = json.loads((tmp_path / "run" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    assert any("rewards/vctrain_total/mean" in entry for entry in state["log_history"])  # our reward was scored
