"""The trainer's typed config tree, loaded from YAML plus `a.b=value` overrides.

Why dataclasses: every knob has a type, a default and a docstring in one place, unknown keys fail loudly
(a typo must never silently train with a default), and the resolved config is written next to each run.
The rules are vcconfig's, the same as vcprep's recipes: a value of the wrong type (`2.7` for a count, `"yes"`
for a flag), a choice not in its list (`loss.algorithm: gpo`) or a number outside its range (`group_size: 0`,
`lr: .nan`, a reward weight of inf) is a ConfigError naming the key when the config loads, before any model.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from vcconfig import ConfigError, Range, build, check_value, load_yaml_file, load_yaml_text

MAX_STEPS = 10**9
"""Largest step or sample count a config may name."""
MAX_TOKENS = 1 << 20
"""Largest generation length a config may name."""
MAX_PIXELS = 1 << 28
"""Largest per-frame pixel budget a config may name."""


@dataclass
class ModelConfig:
    path: str = ""
    """Local folder of a Hugging Face VLM loadable by AutoModelForImageTextToText (no download happens)."""
    processor_path: str = ""
    """Folder for AutoProcessor; empty means `path`."""
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """`auto` (bf16 autocast where the GPU supports it, else fp32), `bf16` or `fp32`. Master weights stay fp32."""
    gradient_checkpointing: bool = False
    """Activation checkpointing: recompute each layer's activations in the backward pass (less memory, ~30% more
    time); works with both `train.strategy` values."""
    attn_implementation: str = ""
    """Passed to from_pretrained (`sdpa`, `eager`, `flash_attention_2`); empty keeps the model default."""


@dataclass
class DataConfig:
    shards: list[str] = field(default_factory=list)
    """One or several vcprep shard folders (each with meta/info.json and data/*.parquet)."""
    variant: str = "raw"
    """Which prompt variant the model sees: `raw`, a fixed variant name (`id_tags`), or `column:NAME` to take
    each sample's variant from the string column NAME of its rows."""
    max_frames: Annotated[int, Range(ge=1, le=4096)] = 16
    """Frames per sample fed to the model; stored frames are subsampled uniformly (true times kept)."""
    max_pixels_per_frame: Annotated[int, Range(ge=1, le=MAX_PIXELS)] = 128 * 28 * 28
    """Upper pixel budget per frame for the video processor (Qwen: multiples of 28x28)."""
    min_pixels_per_frame: Annotated[int, Range(ge=1, le=MAX_PIXELS)] = 4 * 28 * 28
    """Lower pixel budget per frame for the video processor (at most `max_pixels_per_frame`)."""
    shuffle: bool = True
    """Visit samples in a seeded random order per epoch (the order is part of the resumable state)."""
    tasks: list[str] = field(default_factory=list)
    """Keep only rows of these tasks (`stvg`, ...); empty keeps all."""
    full_check: bool = False
    """Also check every shard's sha256 against the manifest on load (reads every byte once). Without it the
    load checks what is cheap (manifest, sizes, columns, counts) and each row's hash as it is read."""


@dataclass
class RolloutConfig:
    engine: str = "hf"
    """Rollout engine name (`hf`: Hugging Face generate), one of vctrain.rollout.ENGINES (checked when training starts,
    before any model loads; engines register at run time). The seam where a faster engine plugs in."""
    group_size: Annotated[int, Range(ge=2, le=1024, note="one response has no group to compare with")] = 8
    """G: sampled responses per prompt (STVG-R1 8, VisionCoach 4)."""
    max_new_tokens: Annotated[int, Range(ge=1, le=MAX_TOKENS)] = 256
    """Generation length cap per response."""
    temperature: Annotated[float, Range(gt=0, le=10)] = 1.0
    """Sampling temperature; log-probs in the loss use the same temperature."""
    top_p: Annotated[float, Range(gt=0, le=1)] = 1.0
    """Nucleus sampling mass."""
    top_k: Annotated[int, Range(ge=0, le=1_000_000, note="0: off")] = 0
    """Top-k sampling (0 disables)."""


@dataclass
class LossConfig:
    algorithm: Literal["grpo", "gspo"] = "grpo"
    """`grpo` (token-level clipped ratio) or `gspo` (sequence-level ratio exp(mean token log-ratio))."""
    clip_eps: Annotated[float, Range(gt=0, lt=1)] = 0.2
    """Clipping range of the ratio: [1 - eps, 1 + eps]."""
    beta: Annotated[float, Range(ge=0, le=100, note="0: no KL, no reference model")] = 0.04
    """Weight of the k3 KL to the frozen reference; 0 is the no-KL mode (no reference model is loaded)."""
    kl_clamp: Annotated[float, Range(gt=0, le=100)] = 10.0
    """r = logp_ref - logp is clamped to [-kl_clamp, kl_clamp] before exp(r) - r - 1."""
    aggregation: Literal["sequence_mean", "token_mean"] = "sequence_mean"
    """`sequence_mean`: mean over each response's tokens, then over responses (GRPO paper);
    `token_mean`: mean over all tokens of the group (long responses weigh more, DAPO)."""
    updates_per_rollout: Annotated[int, Range(ge=1, le=1000)] = 1
    """Optimizer steps taken on one batch of rollouts (mu); >1 makes the ratio and its clipping bite."""


@dataclass
class OptimConfig:
    lr: Annotated[float, Range(gt=0, le=1)] = 1e-6
    """Peak learning rate of AdamW."""
    weight_decay: Annotated[float, Range(ge=0, le=10)] = 0.01
    """AdamW decoupled weight decay."""
    betas: list[Annotated[float, Range(ge=0, lt=1)]] = field(default_factory=lambda: [0.9, 0.999])
    """AdamW betas."""
    max_grad_norm: Annotated[float, Range(ge=0, le=1e6, note="0: no clipping")] = 5.0
    """Global gradient-norm clip (0 disables)."""
    warmup_steps: Annotated[int, Range(ge=0, le=MAX_STEPS)] = 0
    """Linear warm-up optimizer steps before the cosine decay."""
    min_lr_ratio: Annotated[float, Range(ge=0, le=1)] = 0.0
    """Cosine floor as a fraction of `lr`."""


@dataclass
class AdaptiveConfig:
    """VisionCoach's input-adaptive visual prompting with self-distillation (arXiv 2603.14659).
    Per sample: roll out on the raw input; if the group's mean reward is under `threshold`, roll out again on the
    chosen variant's pre-rendered row (frames + hint, read from the shards), keep the responses beating the raw mean,
    take the top `top_n` by answer reward and add `alpha * L_SD` (their length-normalised NLL) to the RL loss of the
    raw group."""

    enabled: bool = False
    """Run the hard-sample step at all (off: plain GRPO/GSPO)."""
    threshold: Annotated[float, Range(ge=-1e6, le=1e6)] = 0.0
    """A sample is hard when its raw group's mean total reward is strictly below this; same scale as the weighted
    reward sum of `rewards:` (VisionCoach: 2.21 against the sum of its 7 reward terms)."""
    variant_source: str = ""
    """Which variant a hard sample gets: `fixed:NAME`, `selector:PATH` (predictions Parquet: sample_id, variant,
    confidence; the most confident row per sample) or `oracle:PATH` (labels Parquet: the variant with the best
    stored `score` per sample). A sample whose choice is `raw` or absent gets no prompted rollout. PATHs in a YAML
    resolve against its folder."""
    top_n: Annotated[int, Range(ge=1, le=1024)] = 2
    """N: at most this many candidates per hard sample become distillation targets (VisionCoach: 2)."""
    alpha: Annotated[float, Range(ge=0, le=1000)] = 0.1
    """Weight of L_SD in L = L_RL + alpha * 1[hard] * L_SD; 0 keeps the prompted rollouts (metrics) but adds no
    loss, i.e. adaptive prompting without distillation."""
    condition_on: Literal["prompted", "raw"] = "prompted"
    """Input the distillation targets are scored on: `prompted` (the variant's frames + hint, as VisionCoach's code
    does) or `raw` (the raw input the model sees at test time)."""
    answer_rewards: list[str] = field(default_factory=list)
    """Reward part names summed as the answer reward that ranks candidates for the top N (e.g. `[tiou,
    id_match]`); empty ranks by the total reward."""


@dataclass
class ParallelConfig:
    """How the policy and reference are spread over the ranks of a `torchrun` job (one process: no effect)."""

    strategy: Literal["ddp", "fsdp"] = "ddp"
    """`ddp`: every rank keeps full weights, gradients and AdamW states (about 16 bytes a parameter); `fsdp`: PyTorch
    FSDP2 (`fully_shard` per decoder layer and vision block, ZeRO-3-like), each rank keeps 1/N of them. Use fsdp when
    `vctrain plan` says DDP does not fit (Qwen2.5-VL-7B on 80 GB cards)."""
    cpu_offload: bool = False
    """fsdp only: keep the sharded parameters, gradients and optimizer states in host memory (slower, GPU keeps only
    the layers being computed)."""
    reshard_after_forward: bool = True
    """fsdp only: free each layer's gathered weights after its forward (ZeRO-3); false keeps them until the backward
    (ZeRO-2-like: faster, more memory)."""


@dataclass
class EvalConfig:
    shards: list[str] = field(default_factory=list)
    """Evaluation shard folders; empty means the training shards."""
    variant: str = "raw"
    """Prompt variant at evaluation (same syntax as `data.variant`)."""
    max_new_tokens: Annotated[int, Range(ge=1, le=MAX_TOKENS)] = 256
    """Generation cap per answer (greedy decoding)."""
    max_samples: Annotated[int, Range(ge=0, le=MAX_STEPS, note="0: all")] = 0
    """Evaluate at most this many samples (0: all)."""
    grid: Literal["tube", "annotated", "fps"] = "tube"
    """Frames vIoU is computed on: `tube` (the tracking rate stored in the shards), `annotated`, or `fps`."""
    eval_fps: Annotated[float, Range(ge=0, le=1000, note="0: unset; grid fps needs one")] = 0.0
    """Rate of the `fps` grid (an even resampling; TubeDETR's own grid, which differs, is `convention: tubedetr`)."""
    max_eval_frames: Annotated[int, Range(ge=0, le=1_000_000, note="0: no cap")] = 0
    """Cap on the `fps` grid per video (under `convention: tubedetr`: its `video_max_len`, 200); 0 means no cap."""
    span_frames: Literal["pts", "truncate", "round"] = "pts"
    """Seconds to frames: `pts` (the frames' own times), `truncate` (STVG-R1: int(s * fps)) or `round`."""
    tiou_unit: Literal["seconds", "frames"] = "seconds"
    """tIoU over `seconds` or over the grid's `frames`."""
    comparison: Literal[">", ">="] = ">"
    """vIoU@R counts IoU > R (`>`: TubeDETR, CG-STVG) or IoU >= R (`>=`: STVG-R1)."""
    thresholds: list[Annotated[float, Range(ge=0, le=1)]] = field(default_factory=lambda: [0.3, 0.5])
    """R values of vIoU@R."""
    moment_comparison: Literal[">=", ">"] = ">="
    """Charades-STA R@1 test: `>=` (Moment-DETR) or `>` (Time-R1)."""
    moment_thresholds: list[Annotated[float, Range(ge=0, le=1)]] = field(default_factory=lambda: [0.3, 0.5, 0.7])
    """IoU thresholds of Charades-STA R@1."""
    output: str = ""
    """Where the JSON report goes; empty means `<checkpoint>/eval.json`."""
    convention: Literal["", "default", "stvg_r1", "visioncoach", "time_r1", "tubedetr"] = ""
    """Whose evaluation rules the metrics follow: `default`, `stvg_r1` (int(s*fps) frames, one-frame overlaps 0,
    no ground-truth interpolation, last-pixel mask boxes, `>=`), `tubedetr` (20 s videos, 5 fps grid without the
    last frame, half-open spans, `>`), `time_r1` (Charades-STA R@1 with `>`), `visioncoach`; empty: the top-level
    `convention`. Any key of this section set to a non-default value overrides the convention's choice."""


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    """The policy (and, with beta > 0, the frozen reference: the same weights)."""
    data: DataConfig = field(default_factory=DataConfig)
    """Training shards and how samples become model inputs."""
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    """How responses are sampled."""
    loss: LossConfig = field(default_factory=LossConfig)
    """GRPO / GSPO objective."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimizer and schedule."""
    rewards: dict[str, Annotated[float, Range(ge=-1000, le=1000)]] = field(
        default_factory=lambda: {"format_stvg": 1.0, "tiou": 1.0, "id_match": 1.0})
    """Reward name -> weight (names from vctrain.rewards.REWARDS); the total is the weighted sum."""
    reward_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Reward name -> keyword parameters of that reward function, e.g. `{tiou: {grammar: paper}, id_match:
    {both_required: true}}` for STVG-R1's own conventions (README: rewards table). Checked against the signatures
    before anything loads; used in training and in `vctrain eval`."""
    convention: Literal["default", "stvg_r1", "visioncoach", "time_r1", "tubedetr"] = "default"
    """Source whose conventions every reward follows (`default`, `stvg_r1`, `visioncoach`, `time_r1`, `tubedetr`;
    vctrain.rewards.conventions), passed as the `convention` parameter of each reward in `rewards:` unless
    `reward_params` names one for it; `eval.convention` defaults to it. Individual switches in `reward_params`
    still apply on top."""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """Settings of `vctrain eval`."""
    adaptive: AdaptiveConfig = field(default_factory=AdaptiveConfig)
    """VisionCoach's input-adaptive prompting + self-distillation (off by default)."""
    train: ParallelConfig = field(default_factory=ParallelConfig)
    """Data parallel strategy under torchrun: `ddp` or `fsdp` (sharded weights, gradients, optimizer states)."""
    steps: Annotated[int, Range(ge=0, le=MAX_STEPS)] = 100
    """Training steps (one step = rollouts for `prompts_per_step` prompts per rank, then the update)."""
    prompts_per_step: Annotated[int, Range(ge=1, le=100_000)] = 2
    """Prompts per rank per step; each prompt's group is one micro-batch of the gradient accumulation."""
    output_dir: str = "runs/grpo"
    """Run folder: config.yaml, metrics.jsonl, tb/, checkpoints/step-NNNNNN/."""
    save_every: Annotated[int, Range(ge=0, le=MAX_STEPS, note="0: only when the run stops")] = 50
    """Checkpoint every N steps; a run always saves when it stops (at the end or at `stop_after_steps`)."""
    stop_after_steps: Annotated[int, Range(ge=0, le=MAX_STEPS, note="0: off")] = 0
    """Stop this invocation after N steps without changing the schedule (pre-emption; a checkpoint is written at the
    stop, and the next invocation resumes from it)."""
    checkpoint_on_stop: bool = True
    """Save when the run stops (end or stop_after_steps) even off the save_every grid; false only for throwaway
    runs such as benchmarks (the next invocation would otherwise start again from the last saved step)."""
    resume: str = "auto"
    """`auto`: continue from the newest checkpoint in output_dir if any; `never`; or a checkpoint folder."""
    seed: Annotated[int, Range(ge=0, le=2**32 - 1)] = 0
    """Seed of data order, sampling and initialisation of everything random."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """`auto` (cuda if present, else cpu), `cpu` or `cuda`."""
    tensorboard: bool = True
    """Also write TensorBoard event files under output_dir/tb."""
    progress: bool = True
    """Show progress bars (rank 0 only)."""


def reward_params_with_convention(cfg: TrainConfig) -> dict[str, dict[str, Any]]:
    """`reward_params` with the top-level `convention` added to every configured reward that does not name one."""
    from vctrain.rewards import with_convention

    return with_convention(cfg.rewards, cfg.reward_params, cfg.convention)


def check_rewards(cfg: TrainConfig) -> None:
    """Reward names, and each `reward_params` value against the type of that reward's keyword (its choices
    included): a misspelt switch would otherwise only zero that reward inside the run."""
    from vctrain.rewards import REWARDS, check_convention

    unknown = sorted(set(cfg.rewards) - set(REWARDS))
    if unknown:
        raise ConfigError(f"rewards: unknown name(s) {unknown}; known: {sorted(REWARDS)}")
    for name, kwargs in cfg.reward_params.items():
        if name not in cfg.rewards:
            raise ConfigError(f"reward_params.{name}: not one of the configured rewards {sorted(cfg.rewards)}")
        fn = REWARDS[name]
        hints = typing.get_type_hints(fn, include_extras=True)
        keywords = inspect.signature(fn).parameters.values()
        accepted = {p.name for p in keywords if p.kind is p.KEYWORD_ONLY} - {"progress"}
        for key, value in kwargs.items():
            where = f"reward_params.{name}.{key}"
            if key not in accepted:
                raise ConfigError(f"{where}: unknown parameter; known: {sorted(accepted)}")
            if key == "convention":
                try:
                    check_convention(value)
                except ValueError as exc:
                    raise ConfigError(f"{where}: {exc}") from exc
            else:
                check_value(value, hints.get(key, Any), where)


def check_config(cfg: TrainConfig) -> None:
    """What one key's type cannot say: keys that must agree, the rewards' own parameters, and the form of
    `adaptive.variant_source`. Run by `load_config`, so `vctrain grpo/eval/plan` fail before any model loads."""
    if cfg.data.min_pixels_per_frame > cfg.data.max_pixels_per_frame:
        raise ConfigError(f"data.min_pixels_per_frame: {cfg.data.min_pixels_per_frame} is above "
                          f"data.max_pixels_per_frame ({cfg.data.max_pixels_per_frame})")
    if len(cfg.optim.betas) != 2:
        raise ConfigError(f"optim.betas: expected two numbers [beta1, beta2], got {cfg.optim.betas}")
    if cfg.eval.grid == "fps" and cfg.eval.eval_fps <= 0:
        raise ConfigError("eval.eval_fps: eval.grid=fps needs eval.eval_fps > 0 (TubeDETR: 5)")
    if cfg.adaptive.enabled:
        kind, sep, arg = cfg.adaptive.variant_source.partition(":")
        if kind not in ("fixed", "selector", "oracle") or not sep or not arg:
            raise ConfigError(f"adaptive.variant_source: {cfg.adaptive.variant_source!r} is not allowed; must be "
                              "fixed:NAME, selector:PATH or oracle:PATH")
    check_rewards(cfg)


def _set_path(tree: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted!r}: {key!r} is not a section")
    node[keys[-1]] = value


def parse_override(item: str) -> tuple[str, Any]:
    """`key.sub=value` as (dotted key, value read as YAML by vcconfig's loader: `3`, `1e-6`, `true`, `[a, b]`)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key.sub=value")
    key, value = item.split("=", 1)
    if value.strip()[:1] in (">", "|"):  # `>`, `>=`, `|` would start YAML block scalars: they are meant as text
        return key.strip(), value
    try:
        return key.strip(), load_yaml_text(value, f"override {key.strip()}")
    except ConfigError:
        return key.strip(), value  # not YAML: the text itself (a typed key then says if it does not fit)


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML config and apply `a.b=value` overrides (values parsed as YAML: `3`, `true`, `[a, b]`).

    Relative shard and model paths are resolved against the YAML file's folder, so recipes are portable.
    Every mistake is a ConfigError naming the key, raised here before anything loads.
    """
    raw: dict = {}
    if path is not None:
        cfg_path = Path(path)
        raw = load_yaml_file(cfg_path) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{cfg_path}: top level must be a mapping")
        _resolve_paths(raw, cfg_path.resolve().parent)
    for item in overrides:
        key, parsed = parse_override(item)
        if key in _PATH_KEYS and parsed:
            parsed = _resolved(Path.cwd(), parsed, key)
        _set_path(raw, key, parsed)
    cfg: TrainConfig = build(TrainConfig, raw)
    check_config(cfg)
    cfg.reward_params = reward_params_with_convention(cfg)  # train and eval read the resolved parameters
    return cfg


_PATH_KEYS = ("data.shards", "eval.shards", "model.path", "model.processor_path")


def _resolve_paths(raw: dict, base: Path) -> None:
    """Make the YAML's model and shard paths absolute against the YAML's folder (recipes stay portable)."""
    for dotted in _PATH_KEYS:
        section, key = dotted.split(".")
        node = raw.get(section)
        if not isinstance(node, dict) or not node.get(key):
            continue
        node[key] = _resolved(base, node[key], dotted)
    adaptive = raw.get("adaptive")
    source = adaptive.get("variant_source") if isinstance(adaptive, dict) else None
    if (isinstance(adaptive, dict) and isinstance(source, str) and source.partition(":")[0] in ("selector", "oracle")
            and source.partition(":")[2]):
        kind, _, file = source.partition(":")
        adaptive["variant_source"] = f"{kind}:{_resolve(base, file)}"


def _resolved(base: Path, value: Any, dotted: str) -> Any:
    """A path, or each path of a list, made absolute against `base` (one shard folder given as a string becomes a
    list of one); anything else is left for the typed check to name."""
    if isinstance(value, str):
        return [_resolve(base, value)] if dotted.endswith(".shards") else _resolve(base, value)
    if isinstance(value, list):
        return [_resolve(base, p) if isinstance(p, str) else p for p in value]
    return value


def _resolve(base: Path, p: str) -> str:
    path = Path(p).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def config_to_dict(cfg: Any) -> dict:
    """Plain nested dict of a config (for config.yaml next to the run and for checkpoints)."""
    return dataclasses.asdict(cfg)
