"""The one exception type for bad configuration.

The CLI turns a :class:`ConfigError` into a single line on stderr and exit code 2,
so every message must name the bad value and say how to fix it.
"""


class ConfigError(ValueError):
    """A user-supplied value that cannot work; the message names it and the fix."""


class NonFiniteLossError(ConfigError):
    """Training met a NaN or infinite loss and stopped before the update; the CLI prints it as one line."""


def choose_from(kind: str, value: object, choices) -> ConfigError:
    """An error for a name that is not in a table, listing the valid names."""
    return ConfigError(f"unknown {kind} {value!r}; choose one of: {', '.join(sorted(choices))}")


def check_positive_int(name: str, value, example: str) -> int:
    """``value`` when it is an integer >= 1 (not a bool); else one line naming it and an example."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}; e.g. {example}")
    return value


def check_nonnegative_int(name: str, value, example: str) -> int:
    """``value`` when it is an integer >= 0 (not a bool); else one line naming it and an example."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be a non-negative integer, got {value!r}; e.g. {example}")
    return value
