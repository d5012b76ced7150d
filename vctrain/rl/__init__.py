"""The RL loop: `train.py` (the GRPO/GSPO step: rollouts, rewards, VisionCoach's adaptive step, policy update),
`rollout.py` (generation engines), `losses.py` (advantages, clipped ratio, KL), `adaptive.py` (hard samples, prompted
rollouts, self-distillation targets), `runlog.py` (metrics log). Start at `train.py`."""
