"""The errors the command lines report as usage errors; everything else keeps its traceback."""

from __future__ import annotations


def usage_errors() -> tuple[type[Exception], ...]:
    """What a command reports as a usage error (exit 2, one line, no traceback): a config mistake named by its key,
    shards refused by their checks, a checkpoint refused as unsafe, an input path that is not there. Anything else
    is a bug and keeps its traceback, however far into a run it happens (imported when a command runs: the
    checkpoint and data modules load torch)."""
    from vcconfig import ConfigError
    from vctrain.data.reader import ShardCheckError
    from vctrain.scale.checkpoint import UnsafeCheckpointError

    return (ConfigError, ShardCheckError, UnsafeCheckpointError, FileNotFoundError)
