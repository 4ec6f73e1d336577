"""The old name of :mod:`ganzoo.commands.generate`: importing it gives that module itself."""
import sys

from ganzoo.commands import generate as _command

sys.modules[__name__] = _command
