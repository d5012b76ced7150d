"""The README's framework commands, read from examples/ (the README quotes those files verbatim), for the tests."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

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
