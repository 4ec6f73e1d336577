"""The random states of a process; they live in :mod:`ganzoo.resume`, re-exported here for old imports."""
from ganzoo.resume import random_states, set_random_states

__all__ = ["random_states", "set_random_states"]
