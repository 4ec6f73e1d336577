"""Reads an offline W&B run back from its ``run-<id>.wandb`` file, for tests.

wandb >= 0.2x writes runs from its Go core and no longer ships a Python reader. The
file is a LevelDB-style log: a 7-byte header (``:W&B``, magic, version), then 32 KiB
blocks of chunks (checksum u32, length u16, type u8: 1 full, 2 first, 3 middle, 4 last),
each record a ``wandb_internal_pb2.Record``.
"""
from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Iterator

from wandb.proto import wandb_internal_pb2

_BLOCK, _CHUNK_HEADER = 32768, 7


def records(path: Path) -> Iterator[wandb_internal_pb2.Record]:
    data = Path(path).read_bytes()
    ident, _magic, _version = struct.unpack("<4sHB", data[:7])
    assert ident == b":W&B", f"{path} is not a W&B run file"
    pos, chunks = 7, []
    while pos + _CHUNK_HEADER <= len(data):
        if _BLOCK - pos % _BLOCK < _CHUNK_HEADER:  # a block's tail too short for a header is padding
            pos += _BLOCK - pos % _BLOCK
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[pos : pos + _CHUNK_HEADER])
        pos += _CHUNK_HEADER
        if kind == 0:  # zero padding up to the end of the block
            pos += _BLOCK - pos % _BLOCK if pos % _BLOCK else 0
            continue
        chunks.append(data[pos : pos + length])
        pos += length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(chunks))
            chunks = []
            yield record


def wait_for_exit(path: Path, timeout: float = 60.0) -> None:
    """Waits until the run file holds its exit record: wandb-core (0.31) writes an offline run's file
    after ``run.finish()`` has returned, so right after a run it may hold only its header."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(record.WhichOneof("record_type") == "exit" for record in records(path)):
                return
        except Exception:  # a record still being written does not parse yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"{path} holds no exit record {timeout:.0f} s after the run finished")


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def read_offline_run(run_dir: Path) -> dict:
    """``{"config": {key: value}, "history": [{key: value}], "summary": {key: value}}`` of an offline run directory."""
    (path,) = Path(run_dir).glob("run-*.wandb")
    wait_for_exit(path)
    run = {"config": {}, "history": [], "summary": {}}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "config":
            run["config"].update({_key(i): json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            run["history"].append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            run["summary"].update({_key(i): json.loads(i.value_json) for i in record.summary.update})
    return run
