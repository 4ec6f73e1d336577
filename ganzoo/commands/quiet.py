"""What ``ganzoo fit`` keeps off the screen unless ``--verbose``: upstream tips, info lines and deprecations.

Each filter names the logger or module and the message it hides, so errors, real warnings
and anything new upstream still show. The CLI installs them for the length of one command
and removes them after; ``import ganzoo`` changes nothing in a Python user's logging.
"""
from __future__ import annotations

import logging
import warnings
from contextlib import ExitStack, contextmanager
from typing import Iterable, Iterator

from lightning.pytorch.loggers import WandbLogger

from ganzoo import compat

#: Lightning's info lines that ``ganzoo fit`` hides, by the logger that emits them: message prefixes.
#: ``Trainer.fit stopped`` counts optimizer steps; ganzoo prints its own line in generator steps.
HIDDEN_INFO = {
    "lightning.pytorch.utilities.rank_zero": ("💡 Tip:", "GPU available:", "TPU available:", "`Trainer.fit` stopped:"),
    "lightning.fabric.utilities.rank_zero": ("💡 Tip:", "GPU available:", "TPU available:", "`Trainer.fit` stopped:"),
    "lightning.fabric.utilities.seed": ("Seed set to",),
}
#: warnings ``ganzoo fit`` hides: (category, message regex, module regex). Each is upstream's to fix
#: and says nothing a user can act on.
HIDDEN_WARNINGS = (
    # torch (2.14 here) deprecates LeafSpec, which Lightning 2.6 still builds for every logged value
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated", r"lightning\.pytorch\.utilities\._pytree"),
    # torch deprecates DDP's broadcast_buffers, but tells those who need broadcast_buffers=False
    # (ganzoo: each process keeps its BatchNorm statistics) to keep it until init_sync_buffers exists
    (FutureWarning, r"`broadcast_buffers` is deprecated\. Use `forward_sync_buffers`", r"lightning\.pytorch\.strategies"),
    # Lightning counts the logging interval per epoch; ganzoo logs across epochs (every
    # log_every_n_steps batches of the whole run), so short epochs lose nothing
    (UserWarning, r"The number of training batches \(\d+\) is smaller than the logging interval", r"lightning\.pytorch"),
)


class _DropMessages(logging.Filter):
    """Drops the records whose message starts with (or, ranked ``[rank: 1] ...``, holds) one of ``prefixes``."""

    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(message.startswith(prefix) or f"] {prefix}" in message for prefix in self.prefixes)


@contextmanager
def quiet_upstream() -> Iterator[None]:
    """Hides :data:`HIDDEN_INFO` and :data:`HIDDEN_WARNINGS` while the context lasts."""
    with ExitStack() as stack:
        for name, prefixes in HIDDEN_INFO.items():
            logger, hidden = logging.getLogger(name), _DropMessages(prefixes)
            logger.addFilter(hidden)
            stack.callback(logger.removeFilter, hidden)
        stack.enter_context(warnings.catch_warnings())
        for category, message, module in HIDDEN_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category, module=module)
        yield


@contextmanager
def quiet_continued_run() -> Iterator[None]:
    """Hides Lightning's "Checkpoint directory ... exists and is not empty" in a fit that continues its run.

    That fit resumes from a checkpoint in the directory (:mod:`ganzoo.commands.resumed_run`):
    the earlier checkpoints there are the run's own, which it goes on writing beside.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty", category=UserWarning)
        yield


def quiet_wandb(loggers: Iterable) -> None:
    """Asks each W&B logger that has not started its run for ``quiet`` W&B output.

    W&B then leaves out its version line, its ``Run history``/``Run summary`` sparklines at
    the end and the log-file hints; the run's location and any error still show. A
    ``settings`` object the user passed is left as it is.
    """
    for logger in loggers:
        if isinstance(logger, WandbLogger) and not compat.wandb_run_started(logger):
            init = compat.wandb_init_kwargs(logger)
            if init is not None and init.get("settings") is None:
                init["settings"] = {"quiet": True}
            elif init is not None and isinstance(init["settings"], dict):
                init["settings"].setdefault("quiet", True)
