"""Exports checked with the frameworks' own code (verl, TRL) and EasyR1's contract.

One mixed-task dataset (stvg, temporal_qa, temporal_mcq, st_free_form, st_grounding, general_mcq,
general_free_form; sampled at 1 fps, the stvg row capped by max_frames) and one sampled at 2 fps,
rendered with the real pipeline and exported into one folder per framework. For the same answer on
the same row, every framework's reward path must give the `vctrain.rewards` score of the shard row,
and the frame timing the model gets must be the rows' true spacing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from shard_recipes import CROSSING_BOXES, DEMO_BOXES, render_small

from vcprep.dataset.export import ExportOptions, export_dataset
from vcprep.dataset.reader import iter_rows
from vctrain.adapters import default_weights, make_trl_reward
from vctrain.data.groundtruth import ground_truth_from_row
from vctrain.rewards import REWARDS, compute_rewards

ROOT = Path(__file__).resolve().parents[1]
VERL_PYTHON = Path(os.environ.get("VCPREP_VERL_PYTHON", ROOT / ".venv-verl" / "bin" / "python"))
"""verl's own environment; `make test` builds it and sets this, so there the check runs or fails, never skips."""
MAN = {"name": "man", "time": 7.0, "box": [588, 210, 621, 309]}
MIXED = [  # clips of 6 s at 1 fps give 6 frames; the stvg clip of 11 s is thinned to 6 (2 s apart)
    {"id": "stvg-1", "video": "vtest.avi", "question": "Who walks alone up the path?", "task": "stvg",
     "span_seconds": [4.6, 10.6], "clip_seconds": [2.0, 13.0], "objects": ["man"], "boxes": DEMO_BOXES},
    {"id": "tq-1", "video": "vtest.avi", "question": "When does the man walk up the path?", "task": "temporal_qa",
     "span_seconds": [5.0, 8.0], "clip_seconds": [4.0, 10.0]},
    {"id": "tmcq-1", "video": "vtest.avi", "question": "When does he walk, and what does he do?",
     "task": "temporal_mcq", "span_seconds": [5.0, 8.0], "clip_seconds": [4.0, 10.0],
     "options": ["He runs", "He walks up the path", "He sits"], "answer": "B"},
    {"id": "stff-1", "video": "vtest.avi", "question": "What does the man do?", "task": "st_free_form",
     "clip_seconds": [4.0, 10.0], "answer": "He walks alone up the path.", "key_items": [MAN]},
    {"id": "stg-1", "video": "vtest.avi", "question": "Where is the man?", "task": "st_grounding",
     "clip_seconds": [4.0, 10.0], "key_items": [MAN]},
    {"id": "gmcq-1", "video": "vtest.avi", "question": "Where are the people?", "task": "general_mcq",
     "clip_seconds": [4.0, 10.0], "options": ["A square", "A beach"], "answer": "A"},
    {"id": "gff-1", "video": "vtest.avi", "question": "Describe the scene.", "task": "general_free_form",
     "clip_seconds": [4.0, 10.0], "answer": "People walk across a square."},
    {"id": "uneven-1", "video": "vtest.avi", "question": "What happens?", "task": "general_free_form",
     "clip_seconds": [2.0, 14.0], "answer": "People walk."},  # 12 frames thinned to 6: 2, 2, 3, 2, 2 s apart
]
AT_2FPS = [{"id": "stvg-2fps", "video": "vtest.avi", "question": "Who crosses from the left?", "task": "stvg",
            "span_seconds": [19.0, 21.0], "clip_seconds": [18.0, 22.0], "objects": ["person"],
            "boxes": CROSSING_BOXES}]


def _spacing(pts: list[float]) -> float:
    return (pts[-1] - pts[0]) / (len(pts) - 1)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> list[Path]:
    base = tmp_path_factory.mktemp("frameworks")
    one = render_small(base / "mixed", media_dir, MIXED, variants=["raw"], samples_per_shard=8)
    two = render_small(base / "fast", media_dir, AT_2FPS, variants=["raw"],
                       sampling={"fps": 2.0, "max_frames": 16})
    return [one, two]


@pytest.fixture(scope="module")
def shard_rows(sources: list[Path]) -> dict[str, dict]:
    rows = {r["sample_id"]: r for root in sources for r in iter_rows(root)}
    spacing = {sid: _spacing(r["pts_seconds"]) for sid, r in rows.items()}
    # the three timing cases the issue asks for
    assert spacing["tq-1"] == pytest.approx(1.0) and spacing["stvg-2fps"] == pytest.approx(0.5)
    assert spacing["stvg-1"] == pytest.approx(2.0) and len(rows["stvg-1"]["frames"]) == 6  # capped
    assert {r["task"] for r in rows.values()} >= {"stvg", "temporal_qa", "temporal_mcq", "st_free_form",
                                                  "st_grounding", "general_mcq", "general_free_form"}
    return rows


def _export(sources: list[Path], base: Path, fmt: str, **kw: object) -> list[str]:
    """Both datasets exported with `vcprep export` semantics under one root (`--path-root`), as two exports trained
    together; returns their train files relative to that root."""
    files = []
    for k, root in enumerate(sources):
        result = export_dataset(root, base / f"part{k}", to=fmt, options=ExportOptions(to=fmt, path_root=base, **kw))
        files.append(result.path.relative_to(base).as_posix())
    return files


def _good_completion(row: dict) -> str:
    """The answer a perfect model gives: the reference answer, with the key objects grounded in the reasoning."""
    items = json.loads(row["meta"] or "{}").get("key_items", [])
    claims = "".join(f"<obj>{k['name']}</obj><box>[{','.join(f'{v:.0f}' for v in k['box'])}]</box>"
                     f"at<t>{k['time_seconds']:.2f}</t>s" for k in items)
    return f"<think>{claims or 'I watch the video.'}</think><answer>{row['answer'] or ''}</answer>"


def _expected(row: dict, completion: str) -> float:
    total, _ = compute_rewards([completion], [ground_truth_from_row(row)], default_weights(row["task"]))
    return float(total[0])


@pytest.mark.skipif(not VERL_PYTHON.is_file() and "VCPREP_VERL_PYTHON" not in os.environ,
                    reason="verl's environment is missing: run `make install-verl`")
@pytest.mark.slow  # verl's own environment in a subprocess
def test_verl_dataset_timing_and_reward_managers_on_a_mixed_batch(
    sources: list[Path], shard_rows: dict[str, dict], tmp_path: Path
) -> None:
    from vctrain.tools.tiny import build_tiny_qwen25vl

    files = _export(sources, tmp_path / "verl", "verl")
    moved = tmp_path / "elsewhere" / "verl"  # the folder of exports moves as it is
    shutil.move(tmp_path / "verl", moved)
    order = [r["extra_info"]["sample_id"] for f in files for r in pq.read_table(moved / f).to_pylist()]
    completions = [_good_completion(shard_rows[sid]) for sid in order]
    completions[1] = "no tags at all"  # a wrong answer in the batch too
    (tmp_path / "completions.json").write_text(json.dumps(completions))
    tiny = build_tiny_qwen25vl(tmp_path / "tiny")
    done = subprocess.run(
        [str(VERL_PYTHON), str(ROOT / "tests" / "verl_check.py"), str(moved), ",".join(files), str(tiny),
         str(tmp_path / "completions.json"), str(tmp_path / "verl.json")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads((tmp_path / "verl.json").read_text())
    assert report["extra_keys"] == sorted({"score", *REWARDS})  # one fixed key set for every task
    for got, completion in zip(report["rows"], completions):
        row = shard_rows[got["sample_id"]]
        expected = _expected(row, completion)
        assert got["score"] == pytest.approx(expected, abs=1e-6), got
        assert got["rm_score_sum"] == pytest.approx(expected, abs=1e-6)
        assert got["legacy_score"] == pytest.approx(expected, abs=1e-6)
        # Qwen2.5-VL merges frame pairs: the seconds per grid step are twice the true frame spacing
        assert got["second_per_grid_ts"] == [pytest.approx(2 * _spacing(row["pts_seconds"]))], got
    by_id = {got["sample_id"]: got for got in report["rows"]}
    # the spatial and temporal-point rewards score through verl (they could not before)
    assert by_id["stg-1"]["extras"]["spatial"] == pytest.approx(1.0)
    assert by_id["stff-1"]["extras"]["temporal_point"] > 0.9


def test_video_exports_name_the_rows_one_rate_cannot_time(sources: list[Path], tmp_path: Path) -> None:
    result = export_dataset(sources[0], tmp_path / "verl", to="verl")
    assert result.uneven_rows == ["uneven-1/raw"] and "uneven-1/raw" in result.summary()
    assert "uneven-1/raw" in (tmp_path / "verl" / "README.md").read_text()  # and the export's card says it
    assert export_dataset(sources[1], tmp_path / "verl2", to="verl").uneven_rows == []
    assert export_dataset(sources[0], tmp_path / "trl", to="trl").uneven_rows == []  # image rows keep exact times


def _clip_packets(path: Path) -> tuple[list[bytes], Fraction]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [bytes(p) for p in container.demux(stream) if p.size], stream.average_rate


def test_easyr1_contract_columns_answer_key_reward_file_and_timing(
    sources: list[Path], shard_rows: dict[str, dict], tmp_path: Path
) -> None:
    """What EasyR1's RLHFDataset and AutoRewardManager do with a row (github hiyouga/EasyR1, verl/utils/dataset.py,
    verl/workers/reward/function.py), done here on the export: the video path joined to `data.image_dir`, `problem`
    split on `<video>`, the `answer` column handed over as `ground_truth`, the reward file loaded by path and called
    with a list (REWARD_TYPE batch) or a dict (sequential). EasyR1's own dataset code is run on these exports outside
    this repository (it pins transformers < 5)."""
    root = tmp_path / "easyr1"
    files = _export(sources, root, "easyr1")
    ds = datasets.load_dataset("parquet", data_files=[str(root / f) for f in files], split="train")
    assert {"problem", "answer", "videos"} <= set(ds.column_names) and "images" not in ds.column_names
    inputs, expected = [], []
    for ex in ds:
        row = shard_rows[ex["sample_id"]]
        assert ex["problem"].count("<video>") == 1 and len(ex["videos"]) == 1
        packets, rate = _clip_packets(Path(os.path.join(root, ex["videos"][0])))  # EasyR1 joins it to image_dir
        frames = [f["bytes"] for f in row["frames"]]
        assert packets == frames + frames[-1:] * (len(frames) % 2)  # the shard's bytes, padded to an even count
        # the rate EasyR1's reader computes its spacing from: 1 / the row's mean frame spacing
        assert float(rate) == pytest.approx(1 / _spacing(row["pts_seconds"]), rel=1e-3)
        completion = _good_completion(row)
        inputs.append({"response": completion, "response_length": len(completion), "ground_truth": ex["answer"]})
        expected.append(_expected(row, completion))
    loaded = []
    for file in (ROOT / "vctrain" / "adapters" / "__init__.py", ROOT / "vctrain" / "adapters" / "easyr1_sequential.py"):
        spec = importlib.util.spec_from_file_location("custom_reward_fn", file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loaded.append(module)
    batch_mod, seq_mod = loaded
    assert (batch_mod.REWARD_TYPE, seq_mod.REWARD_TYPE) == ("batch", "sequential")
    batch = batch_mod.compute_score(inputs)
    one_by_one = [seq_mod.compute_score(item) for item in inputs]
    assert [b["overall"] for b in batch] == pytest.approx(expected, abs=1e-6)
    assert [s["overall"] for s in one_by_one] == pytest.approx(expected, abs=1e-6)
    assert len({tuple(sorted(b)) for b in batch + one_by_one}) == 1  # one key set for every task
    st = next(b for b, ex in zip(batch, ds) if ex["task"] == "st_grounding")
    assert st["spatial"] == pytest.approx(1.0) and st["temporal_point"] == pytest.approx(1.0)  # both score now


def test_trl_rows_timing_and_reward_functions(
    sources: list[Path], shard_rows: dict[str, dict], tmp_path: Path
) -> None:
    files = _export(sources, tmp_path / "trl", "trl")
    shutil.move(tmp_path / "trl", tmp_path / "moved")
    # two exports read together: the second has no MCQ rows, its empty `options` keep the shard's list<string> type
    ds = datasets.load_dataset("parquet", data_files=[str(tmp_path / "moved" / f) for f in files], split="train")
    assert ds.features["options"] == datasets.List(datasets.Value("string"))
    reward = make_trl_reward()
    columns = {key: ds[key] for key in ds.column_names if key != "prompt"}
    completions = [[{"role": "assistant", "content": _good_completion(shard_rows[sid])}] for sid in ds["sample_id"]]
    got = reward(ds["prompt"], completions, **columns)
    for ex, score, completion in zip(ds, got, completions):
        row = shard_rows[ex["sample_id"]]
        assert score == pytest.approx(_expected(row, completion[0]["content"]), abs=1e-6)
        content = ex["prompt"][1]["content"]
        times = [float(content[i - 1]["text"].removesuffix("s: ")) for i, p in enumerate(content)
                 if p["type"] == "image"]
        assert times == pytest.approx(row["pts_seconds"], abs=0.006)  # each frame after its true time
        assert [im.tobytes() for im in ex["images"][:1]] and len(ex["images"]) == len(row["frames"])


@pytest.mark.slow  # TRL's trainer, two steps
def test_trl_grpo_trainer_trains_two_steps_with_pixels_in_the_training_forward(
    sources: list[Path], tmp_path: Path
) -> None:
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import GRPOConfig, GRPOTrainer

    from vctrain.tools.tiny import build_tiny_qwen25vl

    (file,) = _export(sources[1:], tmp_path / "trl", "trl")
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "trl" / file), split="train")
    ds = datasets.concatenate_datasets([ds, ds])  # 2 prompts x 2 generations per step
    tiny = build_tiny_qwen25vl(tmp_path / "tiny")
    model = AutoModelForImageTextToText.from_pretrained(tiny)
    seen: list[tuple[bool, int]] = []
    model.model.visual.register_forward_hook(
        lambda module, args, output: seen.append((torch.is_grad_enabled(), int(args[0].shape[0]))))
    config = GRPOConfig(output_dir=str(tmp_path / "run"), per_device_train_batch_size=2, num_generations=2,
                        max_completion_length=8, max_steps=2, learning_rate=1e-3, logging_steps=1, report_to=[],
                        use_cpu=True, bf16=False, save_strategy="no", seed=0)
    def distinct_characters(prompts: list, completions: list, **_: object) -> list[float]:
        """A random model's completions all score 0 with the real rewards (no advantage, no gradient); this spread
        makes the update visible, so the test sees the vision tower learn from the pixels."""
        return [len(set(c[0]["content"])) / 10 for c in completions]

    trainer = GRPOTrainer(model=model, reward_funcs=[make_trl_reward(), distinct_characters], args=config,
                          train_dataset=ds,
                          processing_class=AutoProcessor.from_pretrained(tiny))
    before = [p.detach().clone() for p in model.model.visual.parameters()]
    trainer.train()
    assert trainer.state.global_step == 2
    assert any(grad and patches > 0 for grad, patches in seen), seen  # pixels reach the loss's forward pass
    assert any(not torch.equal(a, b) for a, b in zip(before, model.model.visual.parameters()))  # and they learn
