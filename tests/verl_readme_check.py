"""Run inside verl's own environment: the README's verl command (examples/verl_grpo.sh) as verl itself reads it.

    python tests/verl_readme_check.py SPEC_JSON OUT_JSON

SPEC_JSON: {"overrides": [hydra overrides parsed from the script], "exports": folder the script cd's into}.
Composes verl 0.9.1's `ppo_trainer` config with the overrides and runs `validate_config` as `main_ppo` does, then
builds the training set with verl's `create_rl_dataset` (the configured `data.custom_cls`, its prompt-length filter)
and records, per kept row, the prompt length and the times the model is given: Qwen2.5-VL's `second_per_grid_ts`
and Qwen3-VL's `<t seconds>` timestamp text.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import torch
import verl
from hydra import compose, initialize_config_dir
from verl.trainer.ppo.utils import create_rl_dataset, need_critic, need_reference_policy
from verl.utils import hf_processor, hf_tokenizer
from verl.utils.config import validate_config
from verl.utils.dataset.rl_dataset import get_dataset_class
from verl.utils.tokenizer import build_multimodal_processor_inputs

TIMESTAMP = re.compile(r"<([0-9.]+) seconds>")


def main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    config_dir = str(Path(verl.__file__).parent / "trainer" / "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        config = compose(config_name="ppo_trainer", overrides=spec["overrides"])
    validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))

    model = config.actor_rollout_ref.model.path
    tokenizer, processor = hf_tokenizer(model), hf_processor(model)
    os.chdir(spec["exports"])
    data = config.data
    dataset = create_rl_dataset(data.train_files, data, tokenizer, processor, is_train=True,
                                max_samples=data.get("train_max_samples", -1))
    dataset_cls = get_dataset_class(data)
    rows = []
    for i in range(len(dataset)):
        item = dataset[i]
        messages = item["raw_prompt"]
        images, videos, _ = dataset_cls._process_multi_modal_info(messages, data.image_patch_size, data)
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = build_multimodal_processor_inputs(processor, text=[text], images=images, videos=videos)
        decoded = tokenizer.decode(inputs["input_ids"][0])
        spacing = inputs.get("second_per_grid_ts")
        spacing = None if spacing is None else [float(x) for x in torch.as_tensor(spacing).flatten()]
        rows.append({
            "sample_id": item["extra_info"]["sample_id"], "variant": item["extra_info"]["variant"],
            "prompt_tokens": int(inputs["input_ids"].shape[-1]),
            "second_per_grid_ts": spacing,
            "timestamps": [float(t) for t in TIMESTAMP.findall(decoded)],
            # a Qwen3-VL video whose chat-template wrapper <|vision_start|>...<|vision_end|> was kept around its
            # per-patch blocks (transformers < 5.11 keeps it; later versions collapse it): 2 tokens more
            "wrapped_videos": len(re.findall(r"<\|vision_start\|><[0-9]", decoded)),
        })
    # verl's trainer drops the last incomplete batch and refuses a dataloader without one
    batches = len(dataset) // int(data.get("gen_batch_size") or data.train_batch_size)
    Path(out_path).write_text(json.dumps({"dataset_class": type(dataset).__name__, "kept": len(dataset), "rows": rows,
                                          "batches": batches,
                                          "max_prompt_length": int(data.max_prompt_length)}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
