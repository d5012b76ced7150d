"""Settings of the Visual Prompt Selector (`vctrain selector label|train|predict`), one dataclass per command.

Why dataclasses loaded like the trainer's config: every knob has a type, a default and a docstring in one place,
unknown keys fail loudly, every number has a range and every choice its list (vcconfig's rules, checked at load),
and the resolved settings are written next to each output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from vcconfig import ConfigError, Range, build, load_yaml_file
from vctrain.config import MAX_PIXELS, MAX_STEPS, MAX_TOKENS, _set_path, parse_override

Weight = Annotated[float, Range(ge=-1000, le=1000)]
Device = Literal["auto", "cpu", "cuda"]


def _default_answer_rewards() -> dict[str, dict[str, float]]:
    return {"stvg": {"id_match": 1.0}, "temporal_qa": {"tiou": 1.0}, "default": {"accuracy": 1.0}}


def _default_grounding_rewards() -> dict[str, dict[str, float]]:
    return {"stvg": {"tiou": 1.0}, "temporal_qa": {"temporal_point": 1.0}, "default": {"spatial": 1.0}}


@dataclass
class LabelConfig:
    """`selector label`: a frozen proxy answers every variant of each sample; the best-scoring one is the label."""

    shards: list[str] = field(default_factory=list)
    """vcprep shard folders whose samples are labelled (every variant row of each sample is run)."""
    model: str = ""
    """Local folder of the frozen proxy VLM (anything `vctrain` loads: a HF folder or a checkpoint's `model/`)."""
    output: str = "selector/labels.parquet"
    """Labels Parquet: one row per (sample_id, variant)."""
    variants: list[str] = field(default_factory=list)
    """Candidate variants; empty means every variant found in the shards."""
    tasks: list[str] = field(default_factory=list)
    """Keep only samples of these tasks; empty keeps all."""
    samples: Annotated[int, Range(ge=0, le=1024, note="0: one greedy answer")] = 0
    """0: one greedy answer per row. G > 0: G sampled answers (seeded) and the mean reward (a smoother label)."""
    temperature: Annotated[float, Range(gt=0, le=10)] = 1.0
    """Sampling temperature when `samples` > 0."""
    seed: Annotated[int, Range(ge=0, le=2**32 - 1)] = 0
    """Seed of sampling; each row's generator is seeded from (seed, sample_id, variant), so order does not matter."""
    max_new_tokens: Annotated[int, Range(ge=1, le=MAX_TOKENS)] = 128
    """Generation cap per answer."""
    max_frames: Annotated[int, Range(ge=1, le=4096)] = 16
    """Frames per row fed to the proxy (uniformly subsampled, true times kept)."""
    max_pixels_per_frame: Annotated[int, Range(ge=1, le=MAX_PIXELS)] = 128 * 28 * 28
    """Upper pixel budget per frame for the video processor."""
    min_pixels_per_frame: Annotated[int, Range(ge=1, le=MAX_PIXELS)] = 4 * 28 * 28
    """Lower pixel budget per frame for the video processor."""
    max_samples: Annotated[int, Range(ge=0, le=MAX_STEPS, note="0: all")] = 0
    """Label at most this many samples (0: all), in shard order."""
    answer_rewards: dict[str, dict[str, Weight]] = field(default_factory=_default_answer_rewards)
    """task -> {reward name: weight}; `answer_reward` is their weighted sum. `default` covers other tasks.
    Defaults: stvg `id_match` (which object), temporal_qa `tiou` (the span is the answer), else `accuracy`."""
    grounding_rewards: dict[str, dict[str, Weight]] = field(default_factory=_default_grounding_rewards)
    """task -> {reward name: weight}; `grounding_reward` is their weighted sum. `default` covers other tasks.
    Defaults: stvg `tiou` (when), temporal_qa `temporal_point` (`<t>` times near key frames), else `spatial`."""
    reward_params: dict[str, dict[str, str | Annotated[float, Range(ge=-1e6, le=1e6)] | bool]] = field(
        default_factory=dict)
    """Per-reward keyword parameters, e.g. {tiou: {grammar: paper}} (see vctrain.rewards)."""
    tie_tolerance: Annotated[float, Range(ge=0, le=1)] = 1e-9
    """Scores within this of the best count as tied; ties go to `raw`, then to the first name in sort order."""
    device: Device = "auto"
    """`auto` (cuda if present, else cpu), `cpu` or `cuda`."""
    progress: bool = True
    """Show a progress bar."""


@dataclass
class TrainSelectorConfig:
    """`selector train`: a classifier from (question, key objects[, visual features]) to the best variant."""

    labels: str = "selector/labels.parquet"
    """Labels Parquet written by `selector label`."""
    output_dir: str = "selector/model"
    """Folder for the head weights, `selector.json` (everything predict needs) and `report.json` / `report.md`."""
    encoder: Literal["text", "hashing", "lora"] = "text"
    """`text`: a frozen HF model's mean-pooled hidden states (needs `encoder_path`); `hashing`: hashed word n-grams,
    no weights at all; `lora`: LoRA adapters on a language model + a linear head on the last token (VisionCoach)."""
    encoder_path: str = ""
    """Local HF folder for `text` / `lora`: a text model (AutoModel) or a VLM (its language model is used)."""
    max_length: Annotated[int, Range(ge=1, le=MAX_TOKENS)] = 128
    """Token cap of the encoder input."""
    hashing_dim: Annotated[int, Range(ge=1, le=1 << 24)] = 1024
    """Buckets of the hashing encoder."""
    hashing_ngrams: Annotated[int, Range(ge=1, le=8)] = 1
    """Word n-gram orders 1..N hashed by the hashing encoder (1: with few labels, bigrams mostly add features unique to
    one sample, which a linear head then memorises)."""
    visual_features: bool = False
    """Append features from the shards' tube columns (tracks, target box area share, span share, oracle vIoU)."""
    head: Literal["linear", "mlp"] = "linear"
    """`linear` or `mlp` (one hidden layer, ReLU, dropout)."""
    hidden: Annotated[int, Range(ge=1, le=1 << 16)] = 64
    """Hidden width of the `mlp` head."""
    dropout: Annotated[float, Range(ge=0, lt=1)] = 0.1
    """Dropout before the head's output layer (mlp) and on LoRA inputs."""
    epochs: Annotated[int, Range(ge=1, le=1_000_000)] = 100
    """Passes over the training split."""
    batch_size: Annotated[int, Range(ge=1, le=1 << 20)] = 32
    """Samples per optimizer step."""
    lr: Annotated[float, Range(gt=0, le=10)] = 5e-2
    """AdamW learning rate of the head (LoRA uses `lora_lr`)."""
    weight_decay: Annotated[float, Range(ge=0, le=10)] = 1e-4
    """AdamW weight decay."""
    split: Literal["hash", "source"] = "hash"
    """Held-out samples: `hash` (see heldout_fraction) or `source` (the labels' `split` column, from the shards'
    `meta.x_split`: `test` / `val` / `validation` rows are held out; samples without one fall back to the hash)."""
    heldout_fraction: Annotated[float, Range(ge=0, lt=1)] = 0.25
    """Share of samples held out, chosen by a hash of (split_seed, sample_id) so the split is stable across runs."""
    split_seed: Annotated[int, Range(ge=0, le=2**32 - 1)] = 0
    """Salt of the held-out hash."""
    patience: Annotated[int, Range(ge=0, le=1_000_000, note="0: off")] = 0
    """Early stopping: stop after this many epochs without a better held-out loss and keep the best weights (0: off;
    note that it then uses the held-out split for model selection)."""
    seed: Annotated[int, Range(ge=0, le=2**32 - 1)] = 0
    """Seed of initialisation, batch order and the measured random baseline."""
    lora_rank: Annotated[int, Range(ge=1, le=4096)] = 8
    """LoRA rank r."""
    lora_alpha: Annotated[float, Range(gt=0, le=1e6)] = 16.0
    """LoRA scale alpha (the update is B A x * alpha / r)."""
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    """Names of the language model's linear layers that get adapters."""
    lora_lr: Annotated[float, Range(gt=0, le=10)] = 1e-3
    """AdamW learning rate of the LoRA adapters and head."""
    device: Device = "auto"
    """`auto` (cuda if present, else cpu), `cpu` or `cuda`."""


@dataclass
class PredictConfig:
    """`selector predict`: one variant per sample for `vctrain grpo`."""

    model_dir: str = "selector/model"
    """Folder written by `selector train`."""
    shards: list[str] = field(default_factory=list)
    """Shard folders of the samples to predict (predictions are restricted to the variants each sample has)."""
    labels: str = ""
    """Alternatively a labels Parquet (used when `shards` is empty)."""
    output: str = "selector/predictions.parquet"
    """Predictions Parquet: sample_id, variant, confidence (one row per sample)."""
    device: Device = "auto"
    """`auto` (cuda if present, else cpu), `cpu` or `cuda`."""


@dataclass
class SelectorConfig:
    """All three commands' settings; one YAML file may hold the three sections."""

    label: LabelConfig = field(default_factory=LabelConfig)
    """Settings of `selector label`."""
    train: TrainSelectorConfig = field(default_factory=TrainSelectorConfig)
    """Settings of `selector train`."""
    predict: PredictConfig = field(default_factory=PredictConfig)
    """Settings of `selector predict`."""


def load_selector_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> SelectorConfig:
    """Read a YAML file (sections `label`, `train`, `predict`) and apply `section.key=value` overrides (YAML values).

    Every mistake is a ConfigError naming the key, raised before any model loads."""
    raw: dict = {}
    if path is not None:
        cfg_path = Path(path)
        raw = load_yaml_file(cfg_path, "selector config file") or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{cfg_path}: top level must be a mapping")
    for item in overrides:
        _set_path(raw, *parse_override(item))
    cfg: SelectorConfig = build(SelectorConfig, raw)
    _check(cfg.label)
    return cfg


def _check(label: LabelConfig) -> None:
    """What one key's type cannot say: the pixel budgets agree and every reward named exists."""
    from vctrain.rewards import REWARDS

    if label.min_pixels_per_frame > label.max_pixels_per_frame:
        raise ConfigError(f"label.min_pixels_per_frame: {label.min_pixels_per_frame} is above "
                          f"label.max_pixels_per_frame ({label.max_pixels_per_frame})")
    for key, table in (("answer_rewards", label.answer_rewards), ("grounding_rewards", label.grounding_rewards)):
        for task, weights in table.items():
            unknown = sorted(set(weights) - set(REWARDS))
            if unknown:
                raise ConfigError(f"label.{key}.{task}: unknown reward(s) {unknown}; known: {sorted(REWARDS)}")
    unknown = sorted(set(label.reward_params) - set(REWARDS))
    if unknown:
        raise ConfigError(f"label.reward_params: unknown reward(s) {unknown}; known: {sorted(REWARDS)}")
