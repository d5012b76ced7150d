"""One set of config rules for both packages: a vcprep recipe and a vctrain config are read by the same loader
(vcconfig), so a wrong type, an unknown choice or a number out of range fails the same way in both, naming the
key, when the file loads; and a hostile file (billion laughs, a recursive alias, megabytes, deep nesting) is
refused in milliseconds instead of eating memory or ending in a RecursionError.

Real YAML files written here, read by the real loaders; the CLIs run as real subprocesses.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from vcconfig import MAX_CONFIG_BYTES, ConfigError, load_yaml_text, numeric_fields_without_range
from vcprep.core.config import PipelineConfig, load_pipeline
from vctrain.config import TrainConfig, load_config
from vctrain.selector.config import SelectorConfig, load_selector_config

RECIPE_HEAD = "name: t\n"

# 9 levels of 9 aliases each: 9**9 = 387 million strings once expanded, from a list of under 1 kB, placed under
# keys that take any list or mapping (`source.params`, `data.tasks`), so no unknown-key check stops it first
LAUGHS = "[" + ", ".join(['&a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] + [
    f"&a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]) + "]"
RECURSIVE = "&a [1, *a]"
def _recipe(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "recipe.yaml"
    source = "" if body.startswith("source:") else "source: {name: jsonl, annotations: ann.jsonl}\n"
    path.write_text(RECIPE_HEAD + source + body)
    return path


def _train_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(body)
    return path


def _vcprep(tmp_path: Path, body: str) -> None:
    load_pipeline(_recipe(tmp_path, body))


def _vctrain(tmp_path: Path, body: str) -> None:
    load_config(_train_config(tmp_path, body))


def _selector(tmp_path: Path, body: str) -> None:
    load_selector_config(_train_config(tmp_path, body))


LOADERS = {"vcprep": _vcprep, "vctrain": _vctrain}
PAYLOAD_KEY = {"vcprep": "source: {{name: jsonl, annotations: ann.jsonl, params: {{x: {}}}}}\n",
               "vctrain": "data: {{tasks: {}}}\n"}


@pytest.mark.parametrize("package", sorted(LOADERS))
@pytest.mark.parametrize(("payload", "words"), [
    (LAUGHS, "more than 100000 values once its aliases are expanded"),
    (RECURSIVE, "an alias refers to the anchor it is inside"),
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ("[1, 2", "not valid YAML"),
])
def test_hostile_yaml_is_refused_quickly_in_both_packages(tmp_path: Path, package: str, payload: str,
                                                          words: str) -> None:
    body = PAYLOAD_KEY[package].format(payload)
    assert len(body) < 5000 or "nested" in words
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=words):
        LOADERS[package](tmp_path, body)
    assert time.perf_counter() - t0 < 5  # the 1 kB billion laughs once ran 120 s to 3.8 GB


def test_a_config_larger_than_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = _train_config(tmp_path, "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1))
    with pytest.raises(ConfigError, match=f"larger than {MAX_CONFIG_BYTES}"):
        load_config(path)
    with pytest.raises(ConfigError, match=f"larger than {MAX_CONFIG_BYTES}"):
        load_pipeline(path)


def test_shared_anchors_within_the_limit_still_load(tmp_path: Path) -> None:
    cfg = load_config(_train_config(tmp_path, "data: {shards: &s [a, b]}\neval: {shards: *s}\n"))
    assert cfg.eval.shards == cfg.data.shards == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert load_yaml_text("a: &x [1, 2]\nb: *x\n", "t") == {"a": [1, 2], "b": [1, 2]}


def test_yaml_1_2_scalars_numbers_with_exponents_and_only_true_false_as_booleans() -> None:
    # YAML 1.1 (PyYAML's default) reads 1e-6 as the text "1e-6" and `no` as False
    assert load_yaml_text("lr: 1e-6\nb: no\nc: true\nd: 1.0e-3", "t") == {"lr": 1e-6, "b": "no", "c": True, "d": 1e-3}
    assert load_config(None, ["optim.lr=1e-6"]).optim.lr == 1e-6


# the same mistake, in each package's own keys: (package, YAML body, key named, words of the reason)
SAME_RULES = [
    ("vcprep", "sampling: {max_frames: 2.7}", "sampling.max_frames", "expected a whole number"),
    ("vctrain", "data: {max_frames: 2.7}", "data.max_frames", "expected a whole number"),
    ("vcprep", "decode: {track_whole_video: yes}", "decode.track_whole_video", "expected bool, got str 'yes'"),
    ("vctrain", "data: {shuffle: yes}", "data.shuffle", "expected bool, got str 'yes'"),
    ("vctrain", "data: {shuffle: 'true'}", "data.shuffle", "expected bool, got str 'true'"),
    ("vcprep", "decode: {backend: ffmpeg}", "decode.backend", "must be one of cv2, av, decord"),
    ("vctrain", "loss: {algorithm: gpo}", "loss.algorithm", "must be one of grpo, gspo"),
    ("vctrain", "train: {strategy: zero3}", "train.strategy", "must be one of ddp, fsdp"),
    ("vctrain", "eval: {comparison: '=>'}", "eval.comparison", "must be one of >, >="),
    ("vctrain", "convention: stvgr1", "convention", "must be one of default, stvg_r1"),
    ("vcprep", "sampling: {fps: '2'}", "sampling.fps", "expected a number, got str"),
    ("vctrain", "rollout: {temperature: '1.0'}", "rollout.temperature", "expected a number, got str"),
    ("vcprep", "output: {workers: true}", "output.workers", "expected a number, got bool"),
    ("vctrain", "prompts_per_step: true", "prompts_per_step", "expected a number, got bool"),
    ("vcprep", "decode: {bogus: 1}", "decode", "unknown key(s) ['bogus']"),
    ("vctrain", "loss: {bogus: 1}", "loss", "unknown key(s) ['bogus']"),
    # ranges: NaN and the infinities never pass, and every number has a bound
    ("vcprep", "postprocess: {join_max_gap_seconds: .inf}", "postprocess.join_max_gap_seconds", "and finite"),
    ("vcprep", "ray: {videos_in_flight_per_actor: 0}", "ray.videos_in_flight_per_actor", "in [1, 1024]"),
    ("vcprep", "ray: {track_actors: -1}", "ray.track_actors", "in [0, 1024]"),
    ("vcprep", "ray: {track_actors: 1e308}", "ray.track_actors", "in [0, 1024]"),
    ("vcprep", "ray: {render_workers: -2}", "ray.render_workers", "in [0, 1024]"),
    ("vcprep", "ray: {num_gpus_per_track_actor: .nan}", "ray.num_gpus_per_track_actor", "and finite"),
    ("vcprep", "output: {max_shard_bytes: 0}", "output.max_shard_bytes", "in [1, "),
    ("vcprep", "detector: {name: hog, params: {min_confidence: .nan}}", "detector.params.min_confidence",
     "must be finite"),
    ("vcprep", "variants: [{name: d, renderers: [{name: spotlight, factor: [0.3, -.inf]}]}]",
     "variants[0].renderers[0].params.factor[1]", "must be finite"),
    ("vctrain", "prompts_per_step: 0", "prompts_per_step", "in [1, 100000]"),
    ("vctrain", "rollout: {group_size: 0}", "rollout.group_size", "in [2, 1024]"),
    ("vctrain", "rewards: {tiou: .inf}", "rewards.tiou", "and finite"),
    ("vctrain", "optim: {lr: .nan}", "optim.lr", "in (0, 1] and finite"),
    ("vctrain", "optim: {betas: [0.9, 1.5]}", "optim.betas[1]", "in [0, 1)"),
    ("vctrain", "eval: {thresholds: [0.5, -.inf]}", "eval.thresholds[1]", "in [0, 1] and finite"),
    ("vctrain", "seed: -1", "seed", "in [0, 4294967295]"),
    # what one key cannot say, still at load
    ("vctrain", "rewards: {tiuo: 1.0}", "rewards", "unknown name(s) ['tiuo']"),
    ("vctrain", "reward_params: {tiou: {grammar: papr}}", "reward_params.tiou.grammar", "must be one of lenient"),
    ("vctrain", "reward_params: {tiou: {both_required: 'yes'}}", "reward_params.tiou.both_required", "expected bool"),
    ("vctrain", "data: {min_pixels_per_frame: 9000, max_pixels_per_frame: 4000}", "data.min_pixels_per_frame",
     "is above"),
    ("vctrain", "adaptive: {enabled: true, variant_source: learned:x}", "adaptive.variant_source", "fixed:NAME"),
]


@pytest.mark.parametrize(("package", "body", "key", "words"), SAME_RULES)
def test_wrong_types_choices_and_ranges_fail_at_load_naming_the_key(
    tmp_path: Path, package: str, body: str, key: str, words: str,
) -> None:
    with pytest.raises(ConfigError) as info:
        LOADERS[package](tmp_path, body + "\n")
    assert f"{key}:" in str(info.value) and words in str(info.value), str(info.value)


def test_an_unknown_rollout_engine_stops_training_before_anything_loads(tmp_path: Path) -> None:
    from vctrain.rl.train import train

    config = _train_config(tmp_path, f"rollout: {{engine: vllm}}\noutput_dir: {tmp_path / 'run'}\n")
    with pytest.raises(ConfigError, match=r"rollout\.engine: 'vllm' is not allowed; must be one of hf"):
        train(load_config(config))  # no model.path, no shards: reaching either would raise something else
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("body", "key", "words"), [
    ("train: {epochs: 0}", "train.epochs", "in [1, 1000000]"),
    ("train: {heldout_fraction: .nan}", "train.heldout_fraction", "and finite"),
    ("train: {head: transformer}", "train.head", "must be one of linear, mlp"),
    ("label: {answer_rewards: {stvg: {id_match: .inf}}}", "label.answer_rewards.stvg.id_match", "and finite"),
    ("label: {grounding_rewards: {stvg: {tiuo: 1.0}}}", "label.grounding_rewards.stvg", "unknown reward(s)"),
    ("predict: {device: gpu}", "predict.device", "must be one of auto, cpu, cuda"),
])
def test_the_selector_settings_follow_the_same_rules(tmp_path: Path, body: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _selector(tmp_path, body + "\n")
    assert f"{key}:" in str(info.value) and words in str(info.value), str(info.value)


@pytest.mark.parametrize("cls", [PipelineConfig, TrainConfig, SelectorConfig])
def test_every_numeric_key_of_both_packages_has_a_range(cls: type) -> None:
    assert numeric_fields_without_range(cls) == []


def test_the_conventions_a_config_may_name_are_the_rewards_conventions() -> None:
    import typing

    from vctrain.rewards import CONVENTIONS

    hints = typing.get_type_hints(TrainConfig)
    assert typing.get_args(hints["convention"]) == CONVENTIONS
    from vctrain.config import EvalConfig

    assert typing.get_args(typing.get_type_hints(EvalConfig)["convention"]) == ("", *CONVENTIONS)


def test_shipped_training_configs_still_load() -> None:
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.glob("configs/*.yaml")):
        cfg = load_config(path)
        assert cfg.data.shards and all(Path(p).is_absolute() for p in cfg.data.shards)


def test_one_shard_folder_given_as_text_is_a_list_of_one(tmp_path: Path) -> None:
    cfg = load_config(_train_config(tmp_path, "data: {shards: out/demo}\n"))
    assert cfg.data.shards == [str((tmp_path / "out/demo").resolve())]


@pytest.mark.slow  # two fresh interpreters, one importing torch: 10-50 s on a shared 2-core machine
def test_cli_config_mistakes_exit_2_naming_the_key_without_a_traceback(tmp_path: Path) -> None:
    recipe = tmp_path / "laughs.yaml"
    recipe.write_text("name: t\n" + PAYLOAD_KEY["vcprep"].format(LAUGHS))
    config = _train_config(tmp_path, "model: {path: no-model-here}\ndata: {shards: [no-shards-here]}\n")
    commands = {  # run side by side: each pays its own interpreter start
        "aliases are expanded": ["-m", "vcprep.cli", "render", str(recipe), "--out", str(tmp_path / "out")],
        "loss.algorithm: 'gpo'": ["-m", "vctrain", "grpo", str(config), "loss.algorithm=gpo"],
    }
    running = {words: subprocess.Popen([sys.executable, *args], cwd=tmp_path, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True) for words, args in commands.items()}
    for words, proc in running.items():
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2, stderr
        assert words in stderr and "Traceback" not in stderr, stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()  # refused before anything ran


@pytest.mark.parametrize("command", [["eval", "--checkpoint", "."], ["plan"], ["grpo"]])
def test_every_vctrain_command_refuses_a_config_mistake_with_exit_2(tmp_path: Path, command: list[str]) -> None:
    from typer.testing import CliRunner

    from vctrain.cli import app

    config = _train_config(tmp_path, "model: {path: no-model-here}\n")
    result = CliRunner().invoke(app, [command[0], str(config), *command[1:], "rollout.group_size=0"])
    assert result.exit_code == 2 and "rollout.group_size: 0 is not allowed" in result.output, result.output


def test_vctrain_grpo_lets_a_bug_show_its_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ValueError raised inside the run is a bug, not a usage error: it must not become `error: ...` and exit 2
    (the CLI once caught ValueError around the whole run). The run is replaced by one that fails that way."""
    from typer.testing import CliRunner

    import vctrain.rl.train
    from vctrain.cli import app

    def broken_run(cfg: TrainConfig) -> None:
        raise ValueError("a bug deep inside the run")

    monkeypatch.setattr(vctrain.rl.train, "train", broken_run)
    config = _train_config(tmp_path, "steps: 1\n")
    result = CliRunner().invoke(app, ["grpo", str(config)])
    assert isinstance(result.exception, ValueError) and "a bug deep inside the run" in str(result.exception)
    assert result.exit_code != 2
