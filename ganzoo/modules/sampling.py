"""Sampling from a GANModule: the generation API, G's moving average in G's place, and latent paths.

:class:`Sampling` is one of the parts :class:`~ganzoo.GANModule` is assembled from; it
reads the module's ``sample_prior``, ``check_labels``, ``forward``, ``generator``,
``ema`` (a :class:`~ganzoo.modules.ema.ModelEma` or ``None``) and ``fixed_z``.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Iterator, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ganzoo.errors import ConfigError
from ganzoo.modules import latents

#: labels as users pass them: one class for all, a list of classes, or a tensor of class indices.
Labels = Union[int, Sequence[int], Tensor]


@contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Puts modules in eval mode (BatchNorm uses running statistics) and restores their modes after."""
    modes = [module.training for module in modules]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for module, mode in zip(modules, modes):
            module.train(mode)


class Sampling:
    """GANModule's sampling methods: :meth:`generate`, :meth:`decode`, the fixed codes of the sample
    grids and the latent paths of interpolation walks."""

    #: how many codes :meth:`fixed_latents` holds (an 8 x 8 grid).
    num_fixed_latents = 64

    @torch.no_grad()
    def generate(
        self,
        n: int,
        seed: Optional[int] = None,
        labels: Optional[Labels] = None,
        batch_size: int = 4096,
        ema: Optional[bool] = None,
    ) -> Tensor:
        """Draws n samples in data space with G in eval mode.

        Args:
            n: number of samples.
            seed: makes the latent codes, and so the samples, reproducible without
                touching the global random state; the codes are drawn on the CPU, so
                a seed gives the same codes on every device.
            labels: for a conditional variant, the class of each sample: one class for
                all (``7``), or one per sample (a list or a tensor ``(n,)``); ``None``
                draws them with :meth:`sample_labels` (uniformly, from ``seed``). An unconditional GAN takes none.
            batch_size: G is run on chunks of this size to bound memory.
            ema: sample G's moving average (``True``) or G itself (``False``); ``None``
                takes the average when the module keeps one (``ema_decay``) and
                :attr:`sample_from_ema` is on.

        Returns:
            Samples of shape ``(n, *S)`` on this module's device.
        """
        labels = self.check_labels(labels, n)
        rng = torch.Generator().manual_seed(seed) if seed is not None else None
        z = self.sample_prior(n, rng)
        if labels is None and self.num_classes:
            labels = self.sample_labels(n, rng)
        return self.decode(z, labels, batch_size, ema)

    def sample_labels(self, n: int, generator: Optional[torch.Generator] = None) -> Tensor:
        """The labels :meth:`generate` draws when none are given: int64 ``(n,)`` on the CPU, uniform over
        the classes by default; a variant whose labels are not equally likely overrides it."""
        return torch.randint(self.num_classes, (n,), generator=generator)

    @torch.no_grad()
    def decode(self, z: Tensor, labels: Optional[Labels] = None, batch_size: int = 4096, ema: Optional[bool] = None) -> Tensor:
        """G (or its moving average, see ``ema`` in :meth:`generate`) applied to given latent codes
        ``(N, latent_dim)`` (and labels, when conditional) in eval mode; samples ``(N, *S)``."""
        labels = self.check_labels(labels, z.shape[0])
        if self.num_classes and labels is None:
            raise ConfigError(
                f"{type(self).__name__} is conditional: pass labels (one class for all, or one per code); "
                f"classes 0..{self.num_classes - 1}"
            )
        chunks = z.to(self.device).split(batch_size)
        label_chunks = labels.to(self.device).split(batch_size) if labels is not None else [None] * len(chunks)
        with self._generator_for_sampling(ema), evaluating(self.generator):
            return torch.cat([self(chunk, chunk_labels) for chunk, chunk_labels in zip(chunks, label_chunks)])

    def samples_from_ema(self) -> bool:
        """Whether :meth:`generate` and :meth:`decode` use G's moving average unless told otherwise."""
        return self.ema is not None and self.sample_from_ema

    def sampled_generator(self) -> str:
        """``"moving average"`` or ``"G"``: what samples come from by default, as reports record it."""
        return "moving average" if self.samples_from_ema() else "G"

    def sampler_description(self) -> str:
        """`` (moving average of G, decay 0.999)`` when samples come from the average, else empty; for messages."""
        return f" (moving average of G, decay {self.ema_decay})" if self.samples_from_ema() else ""

    def _generator_for_sampling(self, ema: Optional[bool]):
        """A context that puts G's moving average in G's place while sampling, so every :meth:`forward`
        (a variant's too) uses it; or leaves G there."""
        if ema and self.ema is None:
            raise ConfigError(f"{type(self).__name__} keeps no moving average of G; set ema_decay (e.g. 0.999) or pass ema=False")
        if not (self.samples_from_ema() if ema is None else ema):
            return nullcontext()
        return self.ema.swapped_in(self, "generator")

    def ema_decay_now(self) -> float:
        """The decay of the next average update (see :meth:`ModelEma.get_decay <ganzoo.modules.ema.ModelEma.get_decay>`)."""
        return self.ema.get_decay(self.g_steps)

    def update_ema(self) -> None:
        """Moves G's moving average toward G; called after each G update (nothing without ``ema_decay``)."""
        if self.ema is not None:
            self.ema.update(self.generator, self.g_steps)

    def fixed_latents(self) -> Tensor:
        """The fixed codes behind the sample grids, ``(num_fixed_latents, latent_dim)``.

        Drawn once through :meth:`sample_prior` with ``eval_seed`` and stored in the
        ``fixed_z`` buffer, so checkpoints carry them and grids stay comparable across
        a resumed run.
        """
        if self.fixed_z.shape[0] == 0:
            self.fixed_z = latents.draw_codes(self.sample_prior, self.num_fixed_latents, self.eval_seed)
        return self.fixed_z

    def interpolate_latents(self, start: Tensor, end: Tensor, steps: int) -> Tensor:
        """Codes on the path from each ``start`` row to the matching ``end`` row, ``(R * steps, latent_dim)``:
        spherical for the normal prior, linear otherwise (:func:`ganzoo.modules.latents.interpolate`)."""
        return latents.interpolate(start, end, steps, spherical=self.hparams.get("prior", "normal") == "normal")

    def class_rows(self, z: Tensor, classes: Sequence[int]) -> tuple[Tensor, Tensor]:
        """Codes ``(len(classes) * R, latent_dim)`` and labels ``(len(classes) * R,)`` of a grid with one row
        per class and the same codes ``z`` ``(R, latent_dim)`` in every row."""
        return latents.class_rows(z, self.check_labels(list(classes), len(classes)))

    def walk_labels(self, rows: int, steps: int, classes: Optional[Sequence[int]] = None) -> Optional[Tensor]:
        """Labels of ``rows`` interpolation walks of ``steps`` codes each, ``(rows * steps,)``.

        A conditional GAN keeps one class along each walk: row i has ``classes[i % len(classes)]``
        (every class in turn when ``classes`` is empty or ``None``). ``None`` for an unconditional GAN.
        """
        if not self.num_classes:
            return None
        chosen = list(classes) if classes else list(range(self.num_classes))
        return latents.walk_labels(self.check_labels(chosen, len(chosen)), rows, steps)
