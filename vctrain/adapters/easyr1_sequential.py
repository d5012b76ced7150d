"""EasyR1's sequential reward type: `worker.reward.reward_function=<this file>:compute_score`.

EasyR1 reads the reward type from the file's `REWARD_TYPE`, so the one-input-at-a-time form needs its own file;
the scores are those of `vctrain.adapters.easyr1_compute_score` (batch: vctrain/adapters/__init__.py:compute_score).
"""

from vctrain.adapters import easyr1_compute_score as compute_score

REWARD_NAME = "vctrain"
"""EasyR1 prints this name when it loads the reward file."""
REWARD_TYPE = "sequential"
"""EasyR1 hands `compute_score` one reward input (a dict) per call."""

__all__ = ["REWARD_NAME", "REWARD_TYPE", "compute_score"]
