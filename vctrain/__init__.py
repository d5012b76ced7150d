"""vctrain: GRPO/GSPO reinforcement learning for video VLMs on vcprep shards.

The shard schema (data_cards/SCHEMA.md) is the only contract with vcprep; this package never imports it.
"""

__version__ = "0.1.0"
