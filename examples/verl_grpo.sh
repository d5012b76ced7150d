# verl 0.9.1: GRPO on vcprep exports, with the frames' true times for Qwen2.5-VL and Qwen3-VL.
#   EXPORTS      the folder the exports were written under with --path-root (their paths are relative to it)
#   TRAIN_FILES  one export's train.parquet, or several: "[demo_verl/train.parquet,walkers_verl/train.parquet]"
#   MODEL        e.g. Qwen/Qwen2.5-VL-3B-Instruct (PATCH=14) or Qwen/Qwen3-VL-4B-Instruct (PATCH=16)
# The batch sizes let the 5-row demo fill one batch; raise them with the dataset.
VCTRAIN=$(python -c "import os, vctrain; print(os.path.dirname(vctrain.__file__))")
cd "$EXPORTS"
python -m verl.trainer.main_ppo \
  algorithm.adv_estimator=grpo \
  data.train_files="$TRAIN_FILES" data.val_files="$TRAIN_FILES" \
  data.prompt_key=prompt data.video_key=videos data.image_patch_size="$PATCH" \
  data.max_prompt_length=8192 data.max_response_length=1024 data.filter_overlong_prompts=True \
  data.train_batch_size=4 \
  data.custom_cls.path=pkg://vctrain.adapters.verl_dataset data.custom_cls.name=TrueTimesRLHFDataset \
  actor_rollout_ref.model.path="$MODEL" \
  actor_rollout_ref.actor.ppo_mini_batch_size=4 \
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1 \
  actor_rollout_ref.rollout.name=vllm actor_rollout_ref.rollout.n=4 \
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=1 \
  actor_rollout_ref.rollout.max_num_batched_tokens=9216 \
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=1 \
  reward.custom_reward_function.path="$VCTRAIN/adapters/__init__.py" \
  reward.custom_reward_function.name=compute_score \
  trainer.n_gpus_per_node=8 trainer.nnodes=1
