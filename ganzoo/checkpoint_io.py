"""Checkpoint files that are written whole or not at all, whatever the filesystem layout.

Lightning's ``TorchCheckpointIO`` writes through an fsspec transaction that stages the file
in ``$TMPDIR``; when the run directory is on another filesystem, its move falls back to a
copy that truncates the target first, so a kill during the copy leaves a 0-byte
``last.ckpt`` and the previous one destroyed. :class:`AtomicCheckpointIO` writes a temporary
file beside the target (same directory, so the rename is atomic), syncs it to disk and
renames it onto the target: at every moment the target holds either the previous
checkpoint or the new one.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from fsspec.utils import get_protocol
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.strategies import Strategy

#: how the temporary file of a save ends: ``.<target name>.<pid>.ganzoo-partial``.
PARTIAL_SUFFIX = ".ganzoo-partial"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO`` with local files written beside the target, synced, then renamed.

    A kill (even ``kill -9``) at any moment leaves the previous checkpoint intact: the
    target is replaced by ``os.replace`` only once the new file is complete on disk. An
    error while writing (a full disk) removes the temporary file; the temporary files of
    a killed earlier save are removed by the next save into the same directory. Remote
    paths (``s3://``, ...) and ``storage_options`` are left to Lightning.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Optional[Any] = None) -> None:
        if storage_options is not None or get_protocol(str(path)) != "file" or "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options=storage_options)
        # Serialised straight into the temporary file: no second, in-memory copy of the checkpoint.
        write_atomically(path, lambda file: torch.save(checkpoint, file))


def write_atomically(path, write: Callable[[Any], Any]) -> None:
    """Calls ``write(file)`` on a temporary file beside ``path``, syncs it and renames it onto ``path``.

    Raises:
        OSError: as the write raised it, with the temporary file removed; a full disk
            raises ``OSError(ENOSPC)`` naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_partial_files(path.parent)
    partial = path.parent / f".{path.name}.{os.getpid()}{PARTIAL_SUFFIX}"
    try:
        with open(partial, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException as err:
        partial.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise OSError(errno.ENOSPC, "no space left on device", str(path)) from None
        raise
    _fsync_directory(path.parent)


def remove_partial_files(directory) -> list[Path]:
    """Removes the temporary files that saves of other processes (killed ones) left in ``directory``.

    A run directory belongs to one run (see :func:`ganzoo.loggers.claim_directory`), and
    within a process one save runs at a time, so a partial file of another process is an orphan.
    """
    removed = []
    for partial in Path(directory).glob(f".*{PARTIAL_SUFFIX}"):
        if partial.name.rsplit(".", 2)[-2] != str(os.getpid()):
            partial.unlink(missing_ok=True)
            removed.append(partial)
    return removed


def _fsync_directory(directory: Path) -> None:
    """Makes the rename itself durable (POSIX); a filesystem that cannot sync a directory is left as it is."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def install_atomic_checkpoint_io(strategy: Strategy) -> None:
    """Puts :class:`AtomicCheckpointIO` in place of Lightning's default ``TorchCheckpointIO``.

    A CheckpointIO of the user's own (or a strategy's, such as DeepSpeed's) is left alone.
    """
    if type(strategy.checkpoint_io) is TorchCheckpointIO:
        strategy.checkpoint_io = AtomicCheckpointIO()
