"""The old name of :mod:`ganzoo.commands.train_classifier`: importing it gives that module itself."""
import sys

from ganzoo.commands import train_classifier as _command

sys.modules[__name__] = _command
