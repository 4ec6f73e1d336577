"""Every private upstream name in ganzoo.compat still exists in the installed versions, and each wrapper works."""
import argparse
import importlib
import inspect
import re
import warnings
from typing import Optional

import pytest
import torch

from ganzoo import compat


def _resolve(dotted: str):
    module_path, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_path), name)


def _defines(cls, attribute: str) -> bool:
    """Whether ``cls`` or a base defines ``attribute``: as a class attribute, or assigned to ``self`` in its source."""
    if hasattr(cls, attribute):
        return True
    pattern = re.compile(rf"self\.{attribute}\s*(:[^=]+)?=[^=]")
    return any(pattern.search(inspect.getsource(klass)) for klass in cls.__mro__ if klass.__module__ != "builtins")


@pytest.mark.parametrize("owner, attribute", compat.PRIVATE_NAMES, ids=[f"{o}.{a}" for o, a in compat.PRIVATE_NAMES])
def test_each_private_upstream_name_still_exists(owner, attribute):
    assert _defines(_resolve(owner), attribute), f"{owner} no longer has {attribute}: update ganzoo.compat"


def test_the_wrappers_read_a_real_trainer_and_parser(tmp_path):
    from lightning.pytorch import Trainer
    from lightning.pytorch.strategies import DDPStrategy

    trainer = Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, default_root_dir=str(tmp_path))
    assert compat.should_update_logs(trainer) in (True, False)
    assert compat.batches_that_stepped(trainer) == 0
    assert compat.ddp_kwargs(DDPStrategy(find_unused_parameters=False)) == {"find_unused_parameters": False}
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_samples")
    assert compat.option_strings([parser]) == {"h", "help", "num_samples"}


def test_the_grad_scaler_scale_is_the_scale_it_will_use():
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    loss = torch.nn.Parameter(torch.ones(1)).sum()
    scaler.scale(loss)  # the scale exists once used
    assert float(compat.grad_scaler_scale(scaler)) == 2.0**10


def test_keep_none_values_keeps_none_entries_without_a_deprecation_warning(monkeypatch):
    from jsonargparse import ArgumentParser

    monkeypatch.setenv("JSONARGPARSE_DEPRECATION_WARNINGS", "all")  # else each warning shows once per process
    parser = ArgumentParser()
    parser.add_argument("--steps", type=Optional[int], default=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        dumped = parser.dump(parser.parse_args([]), **compat.keep_none_values())
    assert "steps: null" in dumped
