"""Run inside verl's own environment (.venv-verl, see the Makefile): verl 0.9.1's `RLHFDataset`, `collate_fn`,
multimodal processing and reward managers on a `vcprep export --to verl` folder.

    python tests/verl_check.py EXPORT_ROOT TRAIN_FILES TINY_MODEL_DIR COMPLETIONS_JSON OUT_JSON

Called by tests/test_export_frameworks.py, which compares what this writes with `vctrain.rewards` on the shard rows.
Runs from EXPORT_ROOT, as a verl user does (the exports' frame paths are relative to it); TRAIN_FILES is a
comma-separated list of their train files (several exports in one run). For every row it records
the `second_per_grid_ts` verl's processing gives, and the scores of the given completion through
`load_reward_manager` (reward loop, naive) with verl's batch aggregation of the reward extras, and through the
batch `NaiveRewardManager`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from transformers import AutoProcessor
from verl import DataProto
from verl.trainer.ppo.reward import get_custom_reward_fn, load_reward_manager
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn
from verl.utils.tokenizer import build_multimodal_processor_inputs
from verl.workers.reward_manager.naive import NaiveRewardManager

ADAPTERS = Path(__file__).resolve().parents[1] / "vctrain" / "adapters" / "__init__.py"


def main(export_dir: str, train_files: str, tiny: str, completions_path: str, out_path: str) -> None:
    os.chdir(export_dir)
    processor = AutoProcessor.from_pretrained(tiny)
    tokenizer = processor.tokenizer
    data_cfg = OmegaConf.create({"prompt_key": "prompt", "video_key": "videos", "max_prompt_length": 1 << 16,
                                 "filter_overlong_prompts": False, "return_raw_chat": True,
                                 "cache_dir": str(Path(out_path).parent / "verl_cache")})
    dataset = RLHFDataset(train_files.split(","), tokenizer, data_cfg, processor)
    items = [dataset[i] for i in range(len(dataset))]
    batch = collate_fn(items)

    # timing: verl's own path from the dataset's messages to the processor inputs
    timing = []
    for item in items:
        messages = item["raw_prompt"]
        images, videos, _ = RLHFDataset._process_multi_modal_info(messages, dataset.image_patch_size, data_cfg)
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = build_multimodal_processor_inputs(processor, text=[text], images=images, videos=videos)
        timing.append([float(x) for x in torch.as_tensor(inputs["second_per_grid_ts"]).flatten()])

    # rewards: one completion per row, tokenised as a rollout would produce it
    completions = json.loads(Path(completions_path).read_text())
    prompt_ids = [tokenizer(text)["input_ids"] for text in ["x"] * len(items)]
    response_ids = [tokenizer(completions[i])["input_ids"] for i in range(len(items))]
    width_p, width_r = max(map(len, prompt_ids)), max(map(len, response_ids))
    pad = tokenizer.pad_token_id
    prompts = torch.tensor([[pad] * (width_p - len(p)) + p for p in prompt_ids])
    responses = torch.tensor([r + [pad] * (width_r - len(r)) for r in response_ids])
    mask = torch.tensor([[0] * (width_p - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (width_r - len(r))
                         for p, r in zip(prompt_ids, response_ids)])
    non_tensors = {k: v for k, v in batch.items() if isinstance(v, np.ndarray)}
    data = DataProto.from_dict(tensors={"prompts": prompts, "responses": responses, "attention_mask": mask},
                               non_tensors=non_tensors)
    config = OmegaConf.create({"reward": {
        "custom_reward_function": {"path": str(ADAPTERS), "name": "compute_score", "reward_kwargs": {}},
        "reward_manager": {"source": "register", "name": "naive"},
    }})
    manager = load_reward_manager(config, tokenizer)

    async def run_all() -> list[dict]:
        return [await manager.run_single(data[i:i + 1]) for i in range(len(data))]

    outputs = manager.loop.run_until_complete(run_all())  # the loop verl gave the manager
    # verl's aggregation (RewardLoopManager.compute_rm_score): arrays built from the first row's keys
    infos = [output.get("reward_extra_info", {}) for output in outputs]
    extras = {key: np.array([info[key] for info in infos]) for key in infos[0]}
    rm_scores = type(manager).assemble_rm_scores(data, [output["reward_score"] for output in outputs])
    legacy = NaiveRewardManager(tokenizer, num_examine=0, compute_score=get_custom_reward_fn(config))
    legacy_out = legacy(data, return_dict=True)
    legacy_extra = {key: list(map(float, values)) for key, values in legacy_out["reward_extra_info"].items()}
    assert all(len(values) == len(data) for values in legacy_extra.values()), "uneven reward extras"

    rows = []
    for i, item in enumerate(items):
        extra = item["extra_info"]
        rows.append({
            "sample_id": extra["sample_id"], "variant": extra["variant"], "task": item["ability"],
            "second_per_grid_ts": timing[i],
            "score": float(outputs[i]["reward_score"]),
            "rm_score_sum": float(rm_scores[i].sum()),
            "legacy_score": float(legacy_out["reward_tensor"][i].sum()),
            "extras": {key: float(values[i]) for key, values in extras.items()},
            "legacy_extras": {key: values[i] for key, values in legacy_extra.items()},
        })
    Path(out_path).write_text(json.dumps({"rows": rows, "extra_keys": sorted(extras)}))


if __name__ == "__main__":
    main(*sys.argv[1:6])
