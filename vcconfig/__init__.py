"""Config rules shared by `vcprep` recipes and `vctrain` configs: one loader, one set of rules.

A config file may come from someone else, so it is read with limits (size, alias expansion, nesting),
and every value is checked against its dataclass field before anything runs: the type (no `2.7` for a
count, no `"yes"` for a flag), the choices (`Literal[...]`), and the range of every number
(`Annotated[float, Range(...)]`; NaN and infinities are never a value). A mistake is a `ConfigError`
that names the key. Both packages import this one; it imports neither.
"""

from vcconfig.errors import ConfigError
from vcconfig.load import MAX_CONFIG_BYTES, MAX_CONFIG_NODES, load_yaml_file, load_yaml_text
from vcconfig.ranges import Range
from vcconfig.typed import build, check_value, numeric_fields_without_range

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_NODES",
    "ConfigError",
    "Range",
    "build",
    "check_value",
    "load_yaml_file",
    "load_yaml_text",
    "numeric_fields_without_range",
]
