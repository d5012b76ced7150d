# EasyR1 (github hiyouga/EasyR1, run from its checkout with its examples/config.yaml): GRPO on one vcprep export.
#   EXPORTS      the folder the export was written under with --path-root (data.image_dir: its paths are relative to it)
#   TRAIN_FILES  the export's train.parquet
#   MODEL        Qwen/Qwen2.5-VL-3B-Instruct on an export with --frames-as video (the default: clip files at each
#                row's rate), or Qwen/Qwen3-VL-4B-Instruct on one with --frames-as images (EasyR1 gives Qwen3-VL
#                videos no metadata, so their timestamps would be wrong; image rows carry each frame's time as text)
# The batch sizes let the 5-row demo fill one batch; raise them with the dataset.
VCTRAIN=$(python -c "import os, vctrain; print(os.path.dirname(vctrain.__file__))")
python3 -m verl.trainer.main config=examples/config.yaml \
  data.train_files="$TRAIN_FILES" data.val_files="$TRAIN_FILES" \
  data.prompt_key=problem data.answer_key=answer data.image_key=images data.video_key=videos \
  data.image_dir="$EXPORTS" data.video_fps=2.0 data.format_prompt=null \
  data.max_prompt_length=16384 data.max_response_length=1024 \
  data.rollout_batch_size=4 data.val_batch_size=4 worker.actor.global_batch_size=4 \
  data.min_pixels=3136 data.max_pixels=602112 \
  worker.rollout.max_num_batched_tokens=17408 \
  worker.actor.model.model_path="$MODEL" \
  worker.reward.reward_function="$VCTRAIN/adapters/__init__.py:compute_score"
