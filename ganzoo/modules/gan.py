"""GANModule: the LightningModule that owns the adversarial training loop: its hooks and its steps.

The parts it is assembled from live beside it: the arguments' checks in
:mod:`ganzoo.modules.checks`, sampling (``generate``, ``decode``) in
:mod:`ganzoo.modules.sampling`, G's moving average in :mod:`ganzoo.modules.ema`, latent
paths in :mod:`ganzoo.modules.latents`, the NaN policy in :mod:`ganzoo.modules.nonfinite`,
the DDP glue in :mod:`ganzoo.modules.distributed` and the resume protocol in :mod:`ganzoo.resume`.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, NamedTuple, Optional, Union

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

from ganzoo import compat, resume
from ganzoo.checkpoint_io import install_atomic_checkpoint_io
from ganzoo.augmentation import Augmentation
from ganzoo.errors import ConfigError, check_number, check_positive_int, choose_from
from ganzoo.losses import get_loss, gradient_penalty
from ganzoo.modules import axis, checks, distributed, ema, nonfinite, speed
from ganzoo.modules.checks import Labels, check_checkpoint_fits, networks_that_fit_in_memory
from ganzoo.modules.ema import ModelEma
from ganzoo.modules.nonfinite import NONFINITE_POLICIES
from ganzoo.modules.sampling import Sampling, evaluating
from ganzoo.nets.packing import samples_per_score
from ganzoo.priors import get_prior
from ganzoo.regularisers.base import Regulariser, adjust_optimizer, check_regularisers, penalties
from ganzoo.resume import Position, random_states, set_random_states

__all__ = ["GANModule", "DiscriminatorStep", "Labels", "evaluating", "NONFINITE_POLICIES"]

#: Adam(2e-4, betas=(0.5, 0.999)), the DCGAN setting, used when no optimizer is given.
DEFAULT_LR = 2e-4
DEFAULT_BETAS = (0.5, 0.999)


def _default_adam(params) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=DEFAULT_LR, betas=DEFAULT_BETAS)


def _prefixed(prefix: str, terms: dict[str, Tensor]) -> dict[str, Tensor]:
    return {prefix + name: value.detach() for name, value in terms.items()}


@functools.lru_cache(maxsize=None)
def _takes(hook: Any, name: str) -> bool:
    """Whether the function ``hook`` takes the keyword ``name``: overrides written before it existed do not."""
    parameters = inspect.signature(hook).parameters
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


class DiscriminatorStep(NamedTuple):
    """What :meth:`GANModule.discriminator_objective` returns for one batch.

    Attributes:
        loss: D's loss to minimise (the gradient penalty is added apart).
        real_logits: D's raw scores on the real samples, shape ``(N,)`` (``(N / m,)`` for a D
            that packs m samples into one score, PacGAN).
        fake_logits: D's raw scores on the generated samples, same shape.
        terms: further detached scalars to log as ``<stage>/d_<name>`` (say AC-GAN's class loss).
    """

    loss: Tensor
    real_logits: Tensor
    fake_logits: Tensor
    terms: dict[str, Tensor] = {}


def _detached(d_step: DiscriminatorStep) -> DiscriminatorStep:
    """``d_step`` with its tensors cut from the graph, to be kept past its update."""
    return DiscriminatorStep(d_step.loss.detach(), d_step.real_logits.detach(), d_step.fake_logits.detach(),
                             {name: value.detach() for name, value in d_step.terms.items()})  # fmt: skip


class GANModule(Sampling, LightningModule):
    """Trains a generator G against a discriminator D by manual optimization.

    Each training batch makes one D update; every ``n_critic``-th batch also makes one
    G update on the same generated batch (one G forward per batch). So with
    ``n_critic=1`` a batch is one D step and one G step, and Lightning's
    ``trainer.global_step`` (which counts every optimizer step) advances by
    ``n_critic + 1`` per G step: :attr:`optimizer_steps_per_g_step`. With
    ``g_steps_per_d_step=k`` the rhythm turns the other way: every batch makes one G
    update and every k-th batch (the first of each k) also one D update, before G's.
    To train for a number of generator steps, use ``max_g_steps`` in a config or the
    :class:`~ganzoo.callbacks.MaxGeneratorSteps` callback.

    Subclasses change one idea by overriding one small hook: :meth:`build_generator`,
    :meth:`build_discriminator`, :meth:`sample_prior`, :meth:`discriminator_loss`,
    :meth:`generator_loss`, :meth:`discriminator_penalty` or :meth:`augment`; a variant
    whose D has more to say (AC-GAN's class head) overrides :meth:`discriminator_objective`
    and :meth:`generator_objective`. Conditional variants (``num_classes > 0``)
    read the labels of each batch with :meth:`batch_labels`, and G makes the
    batch's fakes for the same labels. The hook table is in ``docs/subclassing.md``.

    A subclass sets the attributes its hooks read *before* calling ``super().__init__()``:
    this constructor calls :meth:`build_generator` and :meth:`build_discriminator` (and
    checks the arguments) itself, so they must already find them. Attributes no hook
    reads during construction may be set before or after.

    Args:
        generator: maps ``(N, latent_dim)`` codes to samples ``(N, *S)``; ``None``
            calls :meth:`build_generator`.
        discriminator: maps samples ``(N, *S)`` to raw scores ``(N,)``; ``None``
            calls :meth:`build_discriminator`.
        latent_dim: size of the latent code z.
        prior: ``"normal"`` (N(0, I)) or ``"uniform"`` (U(-1, 1)).
        loss: a name from :data:`ganzoo.losses.LOSSES`: ``minimax``,
            ``non_saturating``, ``wgan_gp``, ``hinge`` or ``lsgan``.
        n_critic: D updates per G update.
        g_steps_per_d_step: G updates per D update (PacGAN's and DCGAN-TensorFlow's 2: G
            catches up with a D that learns faster); each G update draws its own z, where
            DCGAN-TensorFlow reuses one batch of z for both. Only one of it and ``n_critic``
            may be above 1.
        gradient_penalty: weight of the WGAN-GP gradient penalty on D; ``None``
            takes the loss's own default (10 for ``wgan_gp``, 0 otherwise).
        g_optimizer: builds G's optimizer from its parameters; ``None`` means
            Adam(lr=2e-4, betas=(0.5, 0.999)).
        d_optimizer: the same for D.
        g_scheduler: optional LR scheduler for G, stepped once per G update.
        d_scheduler: optional LR scheduler for D, stepped once per D update.
        eval_seed: seed of the fixed latent codes used for validation metrics.
        gradient_clip_norm: clip each network's gradient to this L2 norm before its
            update (in ``on_before_optimizer_step``, after mixed precision has unscaled
            it); ``None`` leaves gradients alone. Lightning's ``gradient_clip_val`` does
            not apply to manual optimization; this does.
        on_nonfinite_loss: what a NaN or infinite G or D loss does: ``"raise"`` stops
            training with one line naming the step and the loss, before the update;
            ``"skip"`` drops that update and counts it in ``skipped_steps``; ``"ignore"``
            does not check. Under ``raise`` and ``skip`` the updated network's parameters
            are checked after each update too (a finite loss can still give NaN weights
            through a huge learning rate): non-finite weights stop training with one line
            before any checkpoint can hold them. Under ``raise`` nothing waits for the device
            inside an update: the losses stay on it and are read, with the weights' max-norms,
            every ``nonfinite_check_every`` generator steps, before each checkpoint, before
            each validation and at the end (see :mod:`ganzoo.modules.nonfinite`); the error
            names the first bad loss's update. ``skip`` decides at each update, so it reads
            each loss (and, under DDP, all-reduces the decision) at its update.
        ema_decay: keep an exponential moving average of G's weights with this decay
            (e.g. 0.999; Karras et al. 2018, Yazıcı et al. 2019) and sample and evaluate with it;
            ``None`` keeps none. The decay warms up as ``min(ema_decay, (1 + t) / (10 + t))``
            over the t-th averaged step. The average is saved in checkpoints as ``generator_ema``.
        ema_start: generator steps during which the average is a plain copy of G, so the
            first, poor weights do not linger in it.
        max_consecutive_skips: under ``on_nonfinite_loss="skip"``, training stops with one
            line once G's (or D's) loss has been NaN or infinite at this many updates in a
            row, instead of skipping forever.
        nonfinite_check_every: under ``on_nonfinite_loss="raise"``, generator steps between
            two reads of the recorded losses and weights (each one device-to-host copy, and
            one all-reduce under DDP); checkpoints and validations are checked whatever it is.
        regularisers: terms added to D's loss at each D step (:class:`~ganzoo.regularisers.Regulariser`:
            R1, R2, LeCam, ...), each logged as ``train/d_<name>``; added by the default
            :meth:`discriminator_penalty` (an override calls ``super()`` to keep them).
        augmentation: transforms every batch D sees in training, in both players' steps
            (:class:`~ganzoo.augmentation.Augmentation`: DiffAugment, ADA); applied by the default
            :meth:`augment`.
        compile: compile G and D with ``torch.compile`` when training starts (in place: checkpoint keys
            do not change, so a checkpoint loads whatever this option). The first steps take the
            compilation's time; not with a penalty that differentiates D's input (WGAN-GP, R1, R2).
        channels_last: store G's and D's 4-D weights channels-last, the memory format some convolution
            kernels run faster in. Where either option pays is measured in ``benchmarks/README.md``.

    Randomness: validation runs on a copy of the random state, so how often it runs does
    not change training; checkpoints hold every process's random states and the data
    order, so a resumed run continues exactly as the same run done in one go.
    """

    def __init__(
        self,
        generator: Optional[nn.Module] = None,
        discriminator: Optional[nn.Module] = None,
        latent_dim: int = 64,
        prior: str = "normal",
        loss: str = "non_saturating",
        n_critic: int = 1,
        g_steps_per_d_step: int = 1,
        gradient_penalty: Optional[float] = None,
        g_optimizer: Optional[OptimizerCallable] = None,
        d_optimizer: Optional[OptimizerCallable] = None,
        g_scheduler: Optional[LRSchedulerCallable] = None,
        d_scheduler: Optional[LRSchedulerCallable] = None,
        eval_seed: int = 0,
        gradient_clip_norm: Optional[float] = None,
        on_nonfinite_loss: str = "raise",
        ema_decay: Optional[float] = None,
        ema_start: int = 0,
        max_consecutive_skips: int = 100,
        nonfinite_check_every: int = 50,
        regularisers: Optional[list[Regulariser]] = None,
        augmentation: Optional[Augmentation] = None,
        compile: bool = False,
        channels_last: bool = False,
    ):
        super().__init__()
        self.automatic_optimization = False
        self.latent_dim = check_positive_int("latent_dim", latent_dim, "latent_dim=64")
        self.n_critic = check_positive_int("n_critic", n_critic, "n_critic=1 (5 for wgan_gp)")
        self.g_steps_per_d_step = check_positive_int("g_steps_per_d_step", g_steps_per_d_step, "g_steps_per_d_step=2")
        if self.n_critic > 1 and self.g_steps_per_d_step > 1:
            raise ConfigError(
                f"n_critic={n_critic} and g_steps_per_d_step={g_steps_per_d_step} are both above 1; set one of them "
                "to 1 (n_critic: D updates per G update; g_steps_per_d_step: G updates per D update)"
            )
        self._sample_z = get_prior(prior)
        self.loss_fn = get_loss(loss)
        weight = self.loss_fn.gradient_penalty if gradient_penalty is None else gradient_penalty
        self.gp_weight = check_number("gradient_penalty", weight, "gradient_penalty=10", low=0)
        self.eval_seed = eval_seed
        if gradient_clip_norm is not None:
            check_number("gradient_clip_norm", gradient_clip_norm, "gradient_clip_norm=1.0", low=0, low_open=True)
        self.gradient_clip_norm = gradient_clip_norm
        if on_nonfinite_loss not in NONFINITE_POLICIES:
            raise choose_from("on_nonfinite_loss", on_nonfinite_loss, NONFINITE_POLICIES)
        self.on_nonfinite_loss = on_nonfinite_loss
        self.max_consecutive_skips = check_positive_int("max_consecutive_skips", max_consecutive_skips, "max_consecutive_skips=100")
        self.ema_decay, self.ema_start = ema.check_settings(ema_decay, ema_start)
        #: updates dropped for a NaN or infinite loss (``on_nonfinite_loss="skip"``).
        self.skipped_steps = 0
        #: updates of each player skipped in a row; a finite loss resets its count.
        self.consecutive_skips = {"G": 0, "D": 0}
        self.nonfinite_check_every = check_positive_int("nonfinite_check_every", nonfinite_check_every, "nonfinite_check_every=50")
        self._nonfinite_record = nonfinite.Record()  # under raise: the values that the next check reads
        self._optimizer_factories = (g_optimizer or _default_adam, d_optimizer or _default_adam)
        self._scheduler_factories = (g_scheduler, d_scheduler)
        checks.check_optimizer_factories(self._optimizer_factories, self._scheduler_factories)
        checks.save_plain_hyperparameters(self, inspect.currentframe(), GANModule)

        with networks_that_fit_in_memory(dict(self.hparams)):
            self.generator = generator if generator is not None else self.build_generator()
            self.discriminator = discriminator if discriminator is not None else self.build_discriminator()
        checks.check_packing(self)
        #: D's regularisers, called by the default :meth:`discriminator_penalty`.
        self.regularisers = check_regularisers(regularisers)
        checks.warn_batch_norm_under_input_gradients(self)
        #: the transform of what D sees in training, applied by the default :meth:`augment`, or ``None``.
        self.augmentation = augmentation
        #: G's moving average (``ema_decay``; see :class:`~ganzoo.modules.ema.ModelEma`), or ``None``.
        self.ema = ModelEma(self.generator, ema_decay, ema_start) if ema_decay is not None else None
        #: the averaged G itself, a submodule (checkpoints keep it as ``generator_ema``), or ``None``.
        self.generator_ema = self.ema.module if self.ema is not None else None
        #: whether G and D are compiled in ``setup`` (``compile``) and stored channels-last (see :mod:`ganzoo.modules.speed`).
        self.use_compile, self.channels_last = bool(compile), bool(channels_last)
        if self.use_compile:
            speed.check_compile(self)
        if self.channels_last:
            speed.use_channels_last(self)
        #: whether :meth:`generate` and :meth:`decode` use :attr:`generator_ema` by default (when kept).
        self.sample_from_ema = True
        #: where the run stands in its data (see :mod:`ganzoo.resume`); checkpointed.
        self.resume_position = Position(0, 0)
        #: optimizer updates made so far; checkpointed, so a resumed run keeps its n_critic rhythm.
        self.d_steps = 0
        self.g_steps = 0
        # The latent batch behind the sample grids: drawn on first use (through the sample_prior
        # hook, from eval_seed) and kept as a buffer, so a resumed or reloaded run shows the same codes.
        self.register_buffer("fixed_z", torch.empty(0, latent_dim))
        self._shapes_checked = False
        self._last_g_logs: dict[str, Tensor] = {}
        self._last_d_step: Optional[tuple[DiscriminatorStep, Optional[Tensor]]] = None  # D's latest step and penalty
        self._penalty_logs: dict[str, Tensor] = {}

    # ------------------------------------------------------------------ hooks
    def build_generator(self) -> nn.Module:
        """Builds G when none is injected. Variants override this."""
        raise ConfigError(
            f"{type(self).__name__} got no generator; pass generator=<nn.Module> "
            "or use a variant that builds one (e.g. ganzoo.VanillaGAN)"
        )

    def build_discriminator(self) -> nn.Module:
        """Builds D when none is injected. Variants override this."""
        raise ConfigError(
            f"{type(self).__name__} got no discriminator; pass discriminator=<nn.Module> "
            "or use a variant that builds one (e.g. ganzoo.VanillaGAN)"
        )

    def sample_prior(self, n: int, rng: Optional[torch.Generator] = None) -> Tensor:
        """Draws n latent codes from the prior, shape ``(n, latent_dim)``, on this module's device."""
        return self._sample_z((n, self.latent_dim), rng, self.device)

    def forward(self, z: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """G on latent codes ``(N, latent_dim)`` (and class labels ``(N,)`` for a conditional
        variant): samples ``(N, *S)``, in the module's current mode; :meth:`decode` is the
        inference form."""
        return self.generator(z)

    def discriminate(self, x: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """D's raw scores for samples ``(N, *S)`` (with their labels ``(N,)`` when conditional), shape ``(N,)``,
        or ``(N / m,)`` for a D that judges packs of m samples (PacGAN: ``pack``, VanillaGAN's and DCGAN's ``d_pack``)."""
        return self.discriminator(x).reshape(-1)

    def augment(self, x: Tensor) -> Tensor:
        """Transforms samples ``(N, *S)`` before D sees them in training; the identity by default.

        Applied to the real and the generated batch in D's step and to the generated batch
        in G's step (and so to what the gradient penalty differentiates), never in
        validation or test. G's gradient flows through it, so an override must be
        differentiable (DiffAugment, ADA). Returns samples of the same shape. By default the
        model's ``augmentation``, or the identity.
        """
        return x if self.augmentation is None else self.augmentation(x)

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """D's loss from its raw scores on real and generated samples, each ``(N,)``."""
        return self.loss_fn.discriminator(real_logits, fake_logits)

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        """G's loss from D's raw scores on generated samples ``(N,)``."""
        return self.loss_fn.generator(fake_logits)

    def discriminator_objective(self, real: Tensor, fake: Tensor, labels: Optional[Tensor] = None) -> DiscriminatorStep:
        """D's loss on a batch of real and generated samples ``(N, *S)`` (labels ``(N,)`` when conditional).

        By default :meth:`discriminate` both and apply :meth:`discriminator_loss`;
        the gradient penalty is added by the training step, apart.
        """
        real_logits, fake_logits = self.discriminate(real, labels), self.discriminate(fake, labels)
        return DiscriminatorStep(self.discriminator_loss(real_logits, fake_logits), real_logits, fake_logits)

    def generator_objective(
        self, fake: Tensor, labels: Optional[Tensor] = None, real: Optional[Tensor] = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """G's loss on generated samples ``(N, *S)``, and detached scalars to log as ``<stage>/g_<name>``.

        ``real`` is the batch's real samples as D sees them (after :meth:`augment` in
        training), for losses that compare with them (relativistic losses, feature
        matching); the default ignores it. An override without a ``real`` argument still works.
        """
        return self.generator_loss(self.discriminate(fake, labels)), {}

    def discriminator_penalty(
        self, real: Tensor, fake: Tensor, labels: Optional[Tensor] = None, d_step: Optional[DiscriminatorStep] = None
    ) -> Optional[Tensor]:
        """A regulariser added to D's loss, or ``None``; by default the weighted gradient penalty.

        ``d_step`` is this batch's :class:`DiscriminatorStep`, with D's scores on ``real`` and
        ``fake`` (a penalty on the scores themselves, say a drift term, needs no second
        forward). An override without a ``d_step`` argument still works. The model's
        ``regularisers`` are added here, each logged as ``train/d_<name>``.
        """
        terms = penalties(self, self.regularisers, real, fake, labels, d_step)
        self._penalty_logs = _prefixed("train/d_", terms)  # with train/d_penalty, their sum
        if self.gp_weight:
            terms["gradient_penalty"] = self.gp_weight * gradient_penalty(
                lambda x: self.discriminate(x, labels), real, fake, self.gradient_scale(), samples_per_score(self.discriminator)
            )
        return sum(terms.values()) if terms else None

    def gradient_scale(self) -> Union[float, Tensor]:
        """The grad scaler's current scale under ``16-mixed`` (a tensor, read without a device sync), else 1.

        A penalty that differentiates D's output (the gradient penalty) multiplies by it before
        :func:`torch.autograd.grad` and divides after, as Lightning scales the loss itself.
        """
        scaler = self._grad_scaler()
        if scaler is None:
            return 1.0
        return compat.grad_scaler_scale(scaler)

    def real_samples(self, batch: Any) -> Tensor:
        """The real samples ``(N, *S)`` of a batch: the batch itself or its first element."""
        return batch[0] if isinstance(batch, (list, tuple)) else batch

    def batch_labels(self, batch: Any) -> Optional[Tensor]:
        """The class labels ``(N,)`` of a batch for a conditional variant; ``None`` for an unconditional GAN."""
        return None

    #: classes a conditional variant generates; 0 for an unconditional GAN, which takes no labels.
    num_classes: int = 0
    #: whether a conditional variant's labels are the data's classes, so that class metrics
    #: (``class_accuracy``, intra-class FD) apply; :class:`~ganzoo.SelfConditionedGAN`'s are clusters.
    labels_are_classes: bool = True

    @property
    def label_noun(self) -> str:
        """What one label names, for messages: ``"class"``, or ``"cluster"`` where labels are not classes."""
        return "class" if self.labels_are_classes else "cluster"

    def check_labels(self, labels: Optional[Labels], n: int) -> Optional[Tensor]:
        """Requested classes as int64 ``(n,)`` on the CPU (see :func:`ganzoo.modules.checks.check_labels`);
        ``labels`` is ``None``, one class for all ``n`` samples, or one per sample."""
        return checks.check_labels(labels, n, self.num_classes, type(self).__name__, self.label_noun)

    @property
    def optimizer_steps_per_g_step(self) -> float:
        """Optimizer steps (as ``trainer.global_step`` counts them) per generator update:
        ``n_critic + 1``, or ``1 + 1 / g_steps_per_d_step`` on average."""
        if self.g_steps_per_d_step > 1:
            return 1 + 1 / self.g_steps_per_d_step
        return self.n_critic + 1

    def optimizer_steps_after(self, g_steps: int) -> int:
        """``trainer.global_step`` right after the ``g_steps``-th G update of a run that skipped none."""
        if self.g_steps_per_d_step > 1:
            return g_steps + -(-g_steps // self.g_steps_per_d_step)  # a D update opens every round of k G updates
        return g_steps * (self.n_critic + 1)

    def g_steps_at_optimizer_steps(self, max_steps: int) -> int:
        """Generator updates made when Lightning stops a run at ``trainer.max_steps=max_steps``.

        Lightning stops after the first batch that reaches ``max_steps``. With ``n_critic`` a G
        update ends each round of ``n_critic`` batches (``n_critic + 1`` optimizer steps), so the
        round that reaches the limit makes its G update only if it needs it; with
        ``g_steps_per_d_step`` every batch makes one.
        """
        if self.g_steps_per_d_step == 1:
            return (max_steps + 1) // (self.n_critic + 1)
        g_steps = max(0, max_steps * self.g_steps_per_d_step // (self.g_steps_per_d_step + 1) - 1)
        while self.optimizer_steps_after(g_steps) < max_steps:
            g_steps += 1
        return g_steps

    # --------------------------------------------------------------- training
    def configure_optimizers(self):
        make_g, make_d = self._optimizer_factories
        optimizers = [make_g(self.generator.parameters()), make_d(self.discriminator.parameters())]
        adjust_optimizer(self.regularisers, optimizers[1])  # a lazy penalty may rescale D's (StyleGAN2)
        schedulers = [make(opt) for make, opt in zip(self._scheduler_factories, optimizers) if make is not None]
        return optimizers, schedulers

    def on_before_optimizer_step(self, optimizer) -> None:
        # Lightning calls this inside opt.step(), after AMP's grad scaler has unscaled the gradients.
        if self.gradient_clip_norm is not None:
            self.clip_gradients(optimizer, gradient_clip_val=self.gradient_clip_norm, gradient_clip_algorithm="norm")

    def _step_scheduler(self, optimizer) -> None:
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            if scheduler.optimizer is optimizer.optimizer:
                scheduler.step()

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real, labels = self.real_samples(batch), self.batch_labels(batch)
        self._check_shapes(real)
        g_opt, d_opt = self.optimizers()
        # D's turn: every batch, or the first of each round of g_steps_per_d_step G updates.
        d_turn = self.g_steps % self.g_steps_per_d_step == 0
        g_turn = not d_turn or (self.d_steps + 1) % self.n_critic == 0
        # One G forward per batch: D trains on it detached, then G trains through the updated D.
        # A conditional G makes its fakes for the batch's own labels.
        with torch.set_grad_enabled(g_turn):
            fake = self(self.sample_prior(real.shape[0]), labels)

        real_seen = None
        if d_turn:
            with self.toggled_optimizer(d_opt):
                real_seen, fake_seen = self.augment(real), self.augment(fake.detach())
                d_step = self.discriminator_objective(real_seen, fake_seen, labels)
                penalty = self._discriminator_penalty(real_seen, fake_seen, labels, d_step)
                loss = d_step.loss if penalty is None else d_step.loss + penalty
                # Under a grad scaler an overflowing scaled penalty is the scaler's to handle (it skips the
                # update and lowers its scale), so only D's objective is checked for NaN or inf.
                d_update = self._update(d_opt, loss, "D", checked=d_step.loss if self._grad_scaler() else loss)
            if d_update:
                self._step_scheduler(d_opt)
                self.d_steps += 1
                if self.augmentation is not None:
                    self.augmentation.observe(self, d_step)
            self._last_d_step = (_detached(d_step), None if penalty is None else penalty.detach())  # for the logs

        if g_turn:
            with self.toggled_optimizer(g_opt):
                g_loss, g_terms = self._generator_objective(self.augment(fake), labels, real, real_seen)
                g_update = self._update(g_opt, g_loss, "G")
            if g_update:
                self._step_scheduler(g_opt)
                self.g_steps += 1
                self.update_ema()
            self._last_g_logs = {"train/g_loss": g_loss.detach(), **_prefixed("train/g_", g_terms)}

        if self._logging_this_batch():
            logs = {}
            if self._last_d_step is not None:  # with g_steps_per_d_step > 1: D's latest values
                d_step, penalty = self._last_d_step  # detached when kept
                logs = {"train/d_loss": d_step.loss, **self._d_statistics("train", d_step)}
                if penalty is not None:
                    logs["train/d_penalty"] = penalty
                    logs.update(self._penalty_logs)
            if self.augmentation is not None:
                logs.update(_prefixed("train/", self.augmentation.log_values()))
            logs.update(self._last_g_logs)  # with n_critic > 1: G's latest values
            logs.update(axis.axis_values(self))  # written at G steps, not batches (ganzoo.modules.axis)
            self.log_dict(logs)

    def _generator_objective(
        self, fake: Tensor, labels: Optional[Tensor], real: Tensor, real_seen: Optional[Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """:meth:`generator_objective`, given the real batch as D saw it (``real_seen``) when an override takes
        it; on a batch without a D update (``g_steps_per_d_step``) the batch is augmented here, for such an override only."""
        hook = type(self).generator_objective
        if hook is GANModule.generator_objective or not _takes(hook, "real"):  # the default ignores ``real``
            return self.generator_objective(fake, labels)
        return self.generator_objective(fake, labels, real=(self.augment(real) if real_seen is None else real_seen).detach())

    def _discriminator_penalty(self, real: Tensor, fake: Tensor, labels: Optional[Tensor], d_step: DiscriminatorStep):
        """:meth:`discriminator_penalty`, given ``d_step`` when the override takes it."""
        if _takes(type(self).discriminator_penalty, "d_step"):
            return self.discriminator_penalty(real, fake, labels, d_step=d_step)
        return self.discriminator_penalty(real, fake, labels)

    def _grad_scaler(self) -> Optional[torch.amp.GradScaler]:
        """The precision plugin's grad scaler when one is at work (``16-mixed``), else ``None``."""
        plugin = self.trainer.precision_plugin if self._trainer is not None else None
        scaler = getattr(plugin, "scaler", None)
        return scaler if scaler is not None and scaler.is_enabled() else None

    def _update(self, optimizer, loss: Tensor, player: str, checked: Optional[Tensor] = None) -> bool:
        """One update of ``player``'s network from ``loss``, unless ``checked`` (the loss itself by default)
        is not finite; whether it was made."""
        if not self._finite(loss if checked is None else checked, player):
            return False
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        self._check_weights(optimizer, player)
        return True
    _check_weights = nonfinite.check_weights  # stops on NaN or infinite weights after an update
    _finite = nonfinite.finite  # whether a loss may be backpropagated (on_nonfinite_loss)
    _check_nonfinite = nonfinite.check_recorded  # under raise: reads what the updates since the last check recorded

    def _logging_this_batch(self) -> bool:
        """Whether Lightning writes this batch's on-step values (every ``log_every_n_steps`` batches).

        Each ``self.log`` call costs about 1 ms on CPU in Lightning's result collection,
        which doubled the time of a small GAN's step; values of the other batches are
        never written, so they are not built.
        """
        return compat.should_update_logs(self.trainer)

    @torch.no_grad()
    def _d_statistics(self, stage: str, d_step: DiscriminatorStep) -> dict[str, Tensor]:
        """Mean D output on real and fake, D's accuracy where the loss defines a decision level, and the step's terms."""
        real_logits, fake_logits = d_step.real_logits.detach(), d_step.fake_logits.detach()
        stats = {
            f"{stage}/d_real": self.loss_fn.score(real_logits).mean(),
            f"{stage}/d_fake": self.loss_fn.score(fake_logits).mean(),
        }
        threshold = self.loss_fn.threshold
        if threshold is not None:
            stats[f"{stage}/d_acc_real"] = (real_logits > threshold).float().mean()
            stats[f"{stage}/d_acc_fake"] = (fake_logits <= threshold).float().mean()
        stats.update(_prefixed(f"{stage}/d_", d_step.terms))
        return stats

    # ------------------------------------------------------------- evaluation
    def _evaluation_step(self, batch: Any, stage: str) -> None:
        real, labels = self.real_samples(batch), self.batch_labels(batch)
        self._check_shapes(real)
        pack = samples_per_score(self.discriminator)
        if real.shape[0] % pack:  # a last, smaller batch: D judges its whole packs (packing is unconditional)
            real = real[: real.shape[0] - real.shape[0] % pack]
            if not real.shape[0]:
                return
        fake = self(self.sample_prior(real.shape[0]), labels)
        d_step = self.discriminator_objective(real, fake, labels)
        g_loss, g_terms = self._generator_objective(fake, labels, real, real_seen=real)
        logs = {
            f"{stage}/d_loss": d_step.loss,
            f"{stage}/g_loss": g_loss,
            **self._d_statistics(stage, d_step),
            **_prefixed(f"{stage}/g_", g_terms),
        }
        self.log_dict(logs, on_step=False, on_epoch=True, batch_size=real.shape[0], sync_dist=True)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluation_step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluation_step(batch, "test")

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        resume.before_batch(self, batch_idx)  # the position, and a resumed run's random states

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # Where training's torch random stream stands; validation hands it back (see on_validation_epoch_start).
        self._torch_state_after_batch = torch.get_rng_state()

    def on_validation_epoch_start(self) -> None:
        self._check_nonfinite("before a validation")  # its metrics and figures never show weights a NaN loss made
        distributed.share_statistics(self._trainer, (self.generator, self.generator_ema))
        self._random_states_before_validation = random_states()
        # Lightning creates the validation iterator before this hook, and a DataLoader draws its
        # base seed from torch's generator: restore the state the last training batch left.
        after_batch = getattr(self, "_torch_state_after_batch", None)
        if after_batch is not None and self.trainer.state.fn == "fit":
            self._random_states_before_validation["torch"] = after_batch

    def on_validation_epoch_end(self) -> None:
        axis.log_axis(self)  # this validation's values (and ImageMetrics') are written at G steps
        if not self.trainer.sanity_checking:
            self._log_distribution_metrics("val")
        # Training continues from the random state it left: how often validation runs does not change it.
        set_random_states(self._random_states_before_validation)

    def on_test_epoch_end(self) -> None:
        axis.log_axis(self)
        self._log_distribution_metrics("test")

    def evaluate_distribution(self) -> dict[str, float]:
        """Metrics of G's distribution against the datamodule's known ground truth.

        Works with a datamodule that offers ``evaluate(samples) -> dict`` and
        ``num_eval_samples`` (the synthetic ones do); the samples come from the
        fixed latent codes of ``eval_seed``, so successive values are comparable.
        Returns an empty dict for other datamodules.
        """
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if not hasattr(datamodule, "evaluate"):
            return {}
        samples = self.generate(datamodule.num_eval_samples, seed=self.eval_seed)
        return datamodule.evaluate(samples.float().cpu())

    def _log_distribution_metrics(self, stage: str) -> None:
        metrics = self.evaluate_distribution()
        if metrics:
            self.log_dict({f"{stage}/{k}": float(v) for k, v in metrics.items()}, sync_dist=False)

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Generates as many samples as the batch holds (for its labels, when conditional)."""
        return self.generate(len(self.real_samples(batch)), labels=self.batch_labels(batch))

    # ------------------------------------------------------------ setup and the end
    def setup(self, stage: str) -> None:
        install_atomic_checkpoint_io(self.trainer.strategy)  # checkpoints written whole or not at all
        distributed.allow_one_network_backwards(self.trainer.strategy)
        if self.use_compile:
            speed.compile_networks(self)
        if stage == "fit":
            distributed.decorrelate_processes(self.trainer)
        datamodule = getattr(self.trainer, "datamodule", None)
        data_shape = getattr(datamodule, "data_shape", None)
        if data_shape is not None:
            self._check_shapes(torch.zeros((2, *data_shape)), _source=type(datamodule).__name__)

    def on_train_end(self) -> None:
        self._check_nonfinite("at the end of training")
        distributed.share_statistics(self._trainer, (self.generator, self.generator_ema))

    def _check_shapes(self, real: Tensor, _source: str = "the data") -> None:
        """Fails with one line, before any update, when G or D does not fit the data (checked once)."""
        if not self._shapes_checked:
            checks.check_networks_fit(self, real, _source)
            self._shapes_checked = True

    # ------------------------------------------------------------ checkpoints
    @classmethod
    def load_from_checkpoint(
        cls, checkpoint_path, map_location=None, hparams_file=None, strict=None, trusted_modules=None, class_policy=None,
        **kwargs,
    ):
        """Loads a module; called on a base class, it builds the variant the checkpoint records.

        Every checkpoint records its module's class, so ``GANModule.load_from_checkpoint(path)``
        returns, say, a VanillaGAN. Nothing is imported from the checkpoint: every class it
        names (the module, G, D, the optimizers, ...) must be already imported, subclass what
        its argument expects and come from ganzoo, ``torch.nn``/``torch.optim`` or a trusted
        module; see :mod:`ganzoo.checkpoint_loading`. Otherwise this is Lightning's
        ``load_from_checkpoint`` (with ``weights_only=True``).

        Args:
            trusted_modules: modules whose classes the checkpoint may name, beside ganzoo's
                and torch's; ``None`` trusts your own code already imported (``__main__`` and
                modules outside site-packages and the standard library).
            class_policy: a :class:`~ganzoo.checkpoint_loading.ClassPolicy` to check with instead
                (a command passes its own, whose refusals point at ``--import``).

        Raises:
            ConfigError: one line naming the file, or the key and class it refuses.
        """
        from ganzoo.checkpoint_loading import ClassPolicy, check_module_classes, read_checkpoint

        policy = class_policy or ClassPolicy.for_python(checkpoint_path, trusted_modules)
        checkpoint = read_checkpoint(checkpoint_path)
        if hparams_file is not None:  # its arguments replace the recorded ones: they get the same checks
            from lightning.pytorch.core.saving import load_hparams_from_yaml

            checkpoint = {**checkpoint, "hyper_parameters": load_hparams_from_yaml(hparams_file)}
        recorded = check_module_classes(checkpoint, policy, cls)
        kwargs.setdefault("weights_only", True)
        lightning_loader = super(GANModule, recorded).load_from_checkpoint
        return lightning_loader(checkpoint_path, map_location=map_location, hparams_file=hparams_file, strict=strict, **kwargs)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        self._check_nonfinite("before writing a checkpoint")  # raised before anything is written
        resume.save_state(self, checkpoint)  # counters, random states, position, per-process buffers
        checkpoint["ganzoo_class"] = f"{type(self).__module__}.{type(self).__qualname__}"
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        if datamodule is not None:  # with its hyperparameters, enough for `ganzoo evaluate` to rebuild it
            checkpoint["ganzoo_datamodule"] = f"{type(datamodule).__module__}.{type(datamodule).__qualname__}"
        # A torchmetrics metric kept on the module (say an FID with its 91 MB InceptionV3) would
        # put its network into every checkpoint; those weights are fixed and never worth saving.
        for prefix in self._metric_prefixes():
            for key in [k for k in checkpoint["state_dict"] if k.startswith(prefix)]:
                del checkpoint["state_dict"][key]

    def _metric_prefixes(self) -> list[str]:
        from torchmetrics import Metric

        return [f"{name}." for name, module in self.named_modules() if name and isinstance(module, Metric)]

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("state_dict", {})
        check_checkpoint_fits(self, checkpoint)
        for prefix in self._metric_prefixes():  # left out on saving: keep the module's own
            for key, value in self.state_dict().items():
                if key.startswith(prefix):
                    state.setdefault(key, value)
        if "fixed_z" in state:  # the stored codes, whatever their number, replace the empty placeholder
            self.fixed_z = torch.empty_like(state["fixed_z"], device=self.fixed_z.device)
        else:  # written before grids existed: keep the placeholder, draw the codes on first use
            state["fixed_z"] = self.fixed_z
        resume.load_state(self, checkpoint)  # Lightning's loop counters are rewritten before it restores them
