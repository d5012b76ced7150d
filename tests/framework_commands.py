"""The README's framework commands, read from examples/ (the README quotes those files verbatim), for the tests."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def example(name: str) -> str:
    return (EXAMPLES / name).read_text()


def readme_blocks() -> list[str]:
    """Every fenced code block of README.md, without its fences."""
    return [m.group(1) for m in re.finditer(r"```[a-z]*\n(.*?)```", (ROOT / "README.md").read_text(), re.S)]


def command_args(script: str, program: str, env: dict[str, str]) -> list[str]:
    """The arguments after `program` in a shell script, continuation lines joined, `$VARS` filled from `env`."""
    joined = re.sub(r"\\\n", " ", script)
    (line,) = [ln for ln in joined.splitlines() if ln.strip().startswith(program)]
    filled = re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: env[m.group(1) or m.group(2)], line)
    return shlex.split(filled)[len(shlex.split(program)):]


def tiny_with_video_limits(family: str, folder: Path, size: dict[str, Any] | None = None) -> Path:
    """The tiny model of `family` (`vctrain build-tiny`) with its video processor's pixel limits set to `size`
    (default: the class's own defaults). The tiny builder keeps small limits for speed; a test of prompt lengths
    needs those of full-size frames."""
    from transformers import AutoProcessor

    from vctrain.tools.tiny import TINY_FAMILIES

    model = TINY_FAMILIES[family](folder)
    processor = AutoProcessor.from_pretrained(model)
    processor.video_processor.size = size or dict(type(processor.video_processor)().size)
    processor.save_pretrained(model)
    return model
