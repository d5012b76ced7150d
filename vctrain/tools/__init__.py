"""Tools around training: `tiny.py` builds a tiny random Qwen2.5-VL (no download) for tests, demos and benchmarks."""
