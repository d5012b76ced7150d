"""Running at scale: `distributed.py` (DDP/FSDP2 setup, wrapping, collective helpers), `checkpoint.py` (save and
resume, sharded state), `plan.py` (memory per GPU before renting any). The RL loop calls these; they never call it."""
