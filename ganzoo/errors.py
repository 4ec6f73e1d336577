"""ganzoo's exceptions, and the checks of single integers and numbers.

The CLI turns a :class:`ConfigError` (bad configuration) and a :class:`NonFiniteLossError`
(a training fault) into a single line on stderr and exit code 2, so every message must
name the bad value and say how to fix it.
"""
import math
import numbers
from typing import Optional


class ConfigError(ValueError):
    """A user-supplied value that cannot work; the message names it and the fix."""


class NonFiniteLossError(FloatingPointError):
    """Training met a NaN or infinite loss (or weights) and stopped before the update; the CLI prints it as one line.

    A fault of the run, not of its configuration, so not a :class:`ConfigError`, though it
    ends the command alike (one line, exit code 2, as before the two were told apart).
    """


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


def check_number(
    name: str,
    value,
    example: str,
    *,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a float when it is a finite real number within the bounds; else one line.

    NaN and infinity are refused whatever the bounds: a comparison with NaN is always
    false, so a bound alone lets it through, and either would reach the training loop
    and end it far from the option that caused it. Booleans and strings are refused too.

    Args:
        name: the option as the user wrote it, e.g. ``gradient_penalty``.
        value: the value given.
        example: a valid setting, e.g. ``gradient_penalty=10``.
        low: the smallest value accepted (``None``: no lower bound).
        high: the largest value accepted (``None``: no upper bound).
        low_open: ``low`` itself is refused (``value > low``).
        high_open: ``high`` itself is refused (``value < high``).

    Returns:
        ``float(value)``.
    """
    if low is not None and high is not None:
        bounds = f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        bounds = f" {'>' if low_open else '>='} {low:g}"
    else:
        bounds = "" if high is None else f" {'<' if high_open else '<='} {high:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number{bounds}, got {value!r}; e.g. {example}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number{bounds}, got {value!r}; e.g. {example}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ConfigError(f"{name} must be a number{bounds}, got {value!r}; e.g. {example}")
    return float(value)
