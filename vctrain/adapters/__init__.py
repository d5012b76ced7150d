"""Framework adapters: vctrain's rewards behind the reward signatures of verl, EasyR1 and TRL.

This file is the one the frameworks load by path (`python -c "import vctrain.adapters as a; print(a.__file__)"`):
verl `custom_reward_function.path=<this file> custom_reward_function.name=compute_score`, EasyR1
`worker.reward.reward_function=<this file>:compute_score` (batch; `easyr1_sequential.py` beside it is the sequential
type), TRL `GRPOTrainer(reward_funcs=[make_trl_reward()])`. The code is in `rewards.py`.
"""

from vctrain.adapters.rewards import (
    REWARD_NAME,
    REWARD_TYPE,
    STVG_R1_WEIGHTS,
    VISIONCOACH_WEIGHTS,
    compute_score,
    default_weights,
    easyr1_compute_score,
    ground_truth_from_any,
    make_trl_reward,
    trl_reward_functions,
    verl_compute_score,
)

__all__ = [
    "REWARD_NAME",
    "REWARD_TYPE",
    "STVG_R1_WEIGHTS",
    "VISIONCOACH_WEIGHTS",
    "compute_score",
    "default_weights",
    "easyr1_compute_score",
    "ground_truth_from_any",
    "make_trl_reward",
    "trl_reward_functions",
    "verl_compute_score",
]
