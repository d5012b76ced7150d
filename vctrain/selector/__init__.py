"""The Visual Prompt Selector (VisionCoach, arXiv 2603.14659): label samples with a frozen proxy, train a classifier
that predicts the best prompt variant per sample, and write per-sample predictions for `vctrain grpo`.

Modules: `config` (settings), `labeling` (proxy runs and labels), `features` (text and visual inputs),
`encoders` (hashing / frozen HF / LoRA), `classifier` (head, training, report), `predict` (predictions Parquet).
"""
