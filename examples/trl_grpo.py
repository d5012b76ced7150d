"""TRL 1.16 GRPO on `vcprep export --to trl` exports (several combine: their frames are embedded).

TRL's GRPOTrainer takes images only: each frame is one image, with its time written before it, so the model reads
every frame's true time as text, and a frame costs twice its visual tokens as part of a video (no 2-frame temporal
patch). Qwen3-VL writes no `<t seconds>` timestamps for images; the time text plays that part.

    python examples/trl_grpo.py --model Qwen/Qwen2.5-VL-3B-Instruct --train-files out/demo_trl/train.parquet
"""

import argparse

from datasets import load_dataset
from trl import GRPOConfig, GRPOTrainer

from vctrain.adapters import make_trl_reward

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True, help="Qwen2.5-VL or Qwen3-VL, a hub name or a local folder")
parser.add_argument("--train-files", nargs="+", required=True, help="one train.parquet per export")
parser.add_argument("--output-dir", default="runs/trl")
parser.add_argument("--max-steps", type=int, default=-1, help="-1: one epoch")
parser.add_argument("--max-completion-length", type=int, default=512)
parser.add_argument("--use-cpu", action="store_true")
args = parser.parse_args()

dataset = load_dataset("parquet", data_files=args.train_files, split="train")  # frames decode to PIL images
config = GRPOConfig(output_dir=args.output_dir, per_device_train_batch_size=2, num_generations=2,
                    max_completion_length=args.max_completion_length, max_steps=args.max_steps,
                    logging_steps=1, report_to=[], use_cpu=args.use_cpu, bf16=not args.use_cpu, save_strategy="no")
trainer = GRPOTrainer(model=args.model, reward_funcs=[make_trl_reward()], args=config, train_dataset=dataset)
trainer.train()
trainer.save_state()
