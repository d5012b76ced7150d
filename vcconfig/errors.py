"""The one error a configuration mistake raises, in both packages."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config or recipe value is wrong; the message names the key (`loss.algorithm`, `ray.track_actors`)
    and the reason. The command lines catch this one error and exit 2 without a traceback: anything else
    is a bug and keeps its traceback."""
