"""Stage 4, the dataset on disk: Parquet shards (the contract `vctrain` reads), the data card,
verify, export to RL frameworks, stats and previews.

Reads `core` and `track`'s quality summaries (plus rows as plain dicts); the pipeline on top
hands it what to write.
"""
