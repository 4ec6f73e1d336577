"""The old name of :mod:`ganzoo.commands.evaluate`: importing it gives that module itself."""
import sys

from ganzoo.commands import evaluate as _command

sys.modules[__name__] = _command
