"""Where things live in a dataset folder (paths are templates, as in LeRobot):

    data/shard-00000.parquet   rows: one per (sample, variant); one row group per sample
    meta/info.json             format version, features, counts, configuration
    meta/manifest.jsonl        one line per completed shard: its samples and sha256
    meta/errors.jsonl          every input that failed, with file, sample and reason
    meta/video_stats.jsonl     per-video tracking statistics (kept across resumed runs)
    meta/recipe.json           the hash of the recipe the folder's rows come from (a resume must match it)
    README.md                  the generated data card
"""

SHARD_TEMPLATE = "data/shard-{index:05d}.parquet"
INFO_PATH = "meta/info.json"
MANIFEST_PATH = "meta/manifest.jsonl"
ERRORS_PATH = "meta/errors.jsonl"
VIDEO_STATS_PATH = "meta/video_stats.jsonl"
RECIPE_PATH = "meta/recipe.json"
MANIFEST_PARTS_DIR = "meta/manifest.parts"
"""Distributed runs: each worker appends its committed shards to `<worker>.jsonl` here; the driver
merges the parts into MANIFEST_PATH (at the end, or when the next run opens the folder)."""
VIDEO_STATS_PARTS_DIR = "meta/video_stats.parts"
PART_SHARD_TEMPLATE = "data/shard-{worker}-{index:05d}.parquet"
