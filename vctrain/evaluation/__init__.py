"""Evaluation: `evaluate.py` runs `vctrain eval` (greedy answers on shards, scored and tabulated); `metrics.py` holds
the metrics with every convention a parameter (tIoU, vIoU, vIoU@R, R@1, V-STaR); `source_rules.py` the sources' own
STVG evaluation rules, quirks included, for `eval.convention: stvg_r1 | tubedetr`. Start at `evaluate.py`."""
