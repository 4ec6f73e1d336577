"""GANModule's speed options: ``torch.compile`` of G and D, and the channels-last memory format.

Both leave the module's tree and its ``state_dict`` keys as they are, so a checkpoint
written with either option loads into a module built without it, and the other way:

- ``compile``: each network is compiled in place with :meth:`torch.nn.Module.compile`, not
  wrapped in ``torch.compile(net)``, whose ``OptimizedModule`` would prefix every key with
  ``_orig_mod.``. It happens in ``setup``, once, so G's moving average (a copy made at
  construction) and anything that pickles the module before training see plain modules.
- ``channels_last``: the 4-D weights of G, D (and G's average) are stored channels-last
  (N, H, W, C in memory); loading a checkpoint copies values into them and keeps the format.
  A convolution whose weight is channels-last computes in that format whatever its input's.

Where each helps on the CPU and on a GPU is measured by ``benchmarks/compile_memory_format.py``.
"""
from __future__ import annotations

from typing import Any

import torch

from ganzoo.errors import ConfigError


def check_compile(module: Any) -> None:
    """Refuses, in one line, ``compile=True`` with a penalty that differentiates D's input.

    Such a penalty (WGAN-GP's, R1, R2) backpropagates through a gradient
    (``create_graph=True``), which compiled backward functions do not support.
    """
    users = (["gradient_penalty"] if module.gp_weight else []) + [
        type(r).__name__ for r in module.regularisers if r.differentiates_inputs
    ]
    if users:
        raise ConfigError(
            f"compile=True cannot train with {users[0]}: it differentiates D's gradient (double backward), which "
            "torch.compile does not support; set compile: false, or drop the penalty"
        )


def use_channels_last(module: Any) -> None:
    """Stores the 4-D weights of ``module``'s G, D and G's average (when kept) channels-last."""
    for net in (module.generator, module.discriminator, module.generator_ema):
        if net is not None:
            net.to(memory_format=torch.channels_last)


def compile_networks(module: Any) -> None:
    """Compiles ``module``'s G and D in place (:meth:`torch.nn.Module.compile`), once."""
    if getattr(module, "_networks_compiled", False):
        return
    module.generator.compile()
    module.discriminator.compile()
    module._networks_compiled = True
