"""The policy model: loading a Hugging Face VLM and its processor, precision and device, encoding a sample's prompt
(`model.py`). Shared by the RL loop, evaluation, scale and the selector."""
