"""on_nonfinite_loss="raise" without a host read per update: what it records, when it reads, what it guarantees."""
import sys
from pathlib import Path
from types import SimpleNamespace

import lightning.pytorch as pl
import pytest
import torch

from ganzoo import ConfigError, MaxGeneratorSteps, Ring2D, VanillaGAN
from ganzoo.errors import NonFiniteLossError
from helpers import NaNAtThirdDUpdate

GANZOO = str(Path(__import__("ganzoo").__file__).parent)
#: the ways Python code reads a tensor's value back to the host
HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")


def tiny(policy="raise", cls=VanillaGAN, **kwargs):
    return cls(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], on_nonfinite_loss=policy, **kwargs)


def ganzoo_host_reads_per_training_step(monkeypatch, model, trainer_kwargs, g_steps):
    """Trains ``g_steps`` G steps; the host reads that ganzoo's own code made inside each training step."""
    counts, inside = [], [False]

    def counting(name):
        original = getattr(torch.Tensor, name)

        def read(tensor, *args, **kwargs):
            if inside[0] and sys._getframe(1).f_code.co_filename.startswith(GANZOO):
                counts[-1] += 1
            return original(tensor, *args, **kwargs)

        return read

    step = model.training_step

    def training_step(*args, **kwargs):
        counts.append(0)
        inside[0] = True
        try:
            return step(*args, **kwargs)
        finally:
            inside[0] = False

    for name in HOST_READS:
        monkeypatch.setattr(torch.Tensor, name, counting(name))
    monkeypatch.setattr(model, "training_step", training_step)
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(g_steps)])
    trainer.fit(model, Ring2D(batch_size=32, num_train=512))
    return counts


def test_raise_reads_the_device_only_at_its_checks_and_skip_at_every_update(monkeypatch, trainer_kwargs):
    pl.seed_everything(0)
    counts = ganzoo_host_reads_per_training_step(monkeypatch, tiny(nonfinite_check_every=5), trainer_kwargs, 20)
    assert len(counts) == 20
    # one read per check (the record of 5 batches: 10 losses and 10 weight norms), none in the other steps
    assert [i + 1 for i, n in enumerate(counts) if n] == [5, 10, 15, 20] and set(counts) == {0, 1}
    pl.seed_everything(0)
    counts = ganzoo_host_reads_per_training_step(monkeypatch, tiny("skip"), trainer_kwargs, 6)
    assert counts == [4] * 6  # D's and G's loss before, their weights after, each update
    pl.seed_everything(0)
    counts = ganzoo_host_reads_per_training_step(monkeypatch, tiny("ignore"), trainer_kwargs, 6)
    assert counts == [0] * 6


@pytest.mark.parametrize(
    "check_every, trainer_extra, when, g_steps",
    [
        (4, {}, "at the check after generator step 4", 3),  # raised inside G's 4th update
        (1000, {"limit_val_batches": 1, "val_check_interval": 5}, "before a validation", 5),
        (1000, {}, "at the end of training", 6),
    ],
    ids=["periodic", "validation", "end"],
)
def test_a_nan_loss_is_reported_at_the_next_check_naming_its_own_update(check_every, trainer_extra, when, g_steps, trainer_kwargs):
    pl.seed_everything(0)
    model = tiny(cls=NaNAtThirdDUpdate, nonfinite_check_every=check_every)
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, **{"limit_val_batches": 0, **trainer_extra},
                         callbacks=[MaxGeneratorSteps(6)])  # fmt: skip
    with pytest.raises(NonFiniteLossError) as error:
        trainer.fit(model, Ring2D(batch_size=32, num_train=512))
    message = str(error.value)
    # the update was made, so the weights are NaN by the check: named after where training stopped
    assert message.startswith(f"D loss is nan at D update 3 (after 2 generator steps); training stopped {when} (G's and "
                              "D's weights are NaN or infinite by then), before any checkpoint held the weights it made")  # fmt: skip
    assert "\n" not in message and message.endswith("or set on_nonfinite_loss: skip")
    assert model.g_steps == g_steps


def test_a_checkpoint_is_never_written_from_weights_after_a_nan_loss(trainer_kwargs, tmp_path):
    pl.seed_everything(0)
    model = tiny(cls=NaNAtThirdDUpdate, nonfinite_check_every=1000)
    saver = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=6, save_top_k=-1)  # every 3rd batch
    trainer = pl.Trainer(**{**trainer_kwargs, "enable_checkpointing": True}, max_epochs=-1, limit_val_batches=0,
                         callbacks=[MaxGeneratorSteps(8), saver])  # fmt: skip
    with pytest.raises(NonFiniteLossError, match="^D loss is nan at D update 3 .* stopped before writing a checkpoint "):
        trainer.fit(model, Ring2D(batch_size=32, num_train=512))
    assert not any(torch.isfinite(p).all() for p in model.discriminator.parameters())  # what the check kept out
    assert list(tmp_path.glob("*.ckpt")) == []  # the first save came after the NaN update: refused


class ReduceStub:
    """A strategy whose other process saw a NaN: ``reduce_boolean_decision(all=True)`` says False."""

    def __init__(self):
        self.calls = 0

    def reduce_boolean_decision(self, decision, all=True):
        self.calls += 1
        return False


def test_under_ddp_a_nan_in_another_process_stops_this_one_too_with_one_collective_per_check():
    model = tiny(nonfinite_check_every=3)
    strategy = ReduceStub()
    model._trainer = SimpleNamespace(strategy=strategy)
    for _ in range(5):  # finite here: only recorded, no collective
        model._finite(torch.tensor(0.5), "D")
    assert strategy.calls == 0
    with pytest.raises(NonFiniteLossError, match="^a loss or the weights became NaN or infinite in another process"):
        model._check_nonfinite("now")
    assert strategy.calls == 1


def test_the_check_interval_is_a_positive_integer():
    for bad in (0, -3, 2.5):
        with pytest.raises(ConfigError, match=f"nonfinite_check_every must be a positive integer, got {bad!r}"):
            tiny(nonfinite_check_every=bad)


def blowing_up(inf_from_update, **kwargs):
    """G trained by SGD whose learning rate turns infinite at its ``inf_from_update``-th update (a finite loss, inf weights)."""
    return VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8],
                      g_optimizer=lambda params: torch.optim.SGD(params, lr=0.01),
                      g_scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 if k < inf_from_update - 1 else float("inf")),
                      **kwargs)  # fmt: skip


@pytest.mark.parametrize(
    "inf_from_update, check_every, message",
    [
        (3, 1, "G's weights became NaN or infinite at generator step 3 (after 2 generator steps) although its loss was finite; "
               "training stopped at the check after generator step 3,"),
        # the weights are read once per check: the message names the updates since the last one
        (2, 2, "G's weights became NaN or infinite between generator step 1 and generator step 2 (after 0 generator steps)"),
        # the bad weights made the next D loss NaN before the check: both are named
        (3, 2, "D loss is nan at D update 4 (after 3 generator steps); training stopped at the check after generator "
               "step 4 (G's and D's weights are NaN or infinite by then),"),
    ],
    ids=["one-update", "weights-between-checks", "loss-and-weights"],
)
def test_weights_are_read_at_each_check_and_the_message_names_what_it_can(inf_from_update, check_every, message, trainer_kwargs):
    from ganzoo import Gaussian1D

    pl.seed_everything(0)
    model = blowing_up(inf_from_update, nonfinite_check_every=check_every)
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(6)])
    with pytest.raises(NonFiniteLossError) as error:
        trainer.fit(model, Gaussian1D(batch_size=32, num_train=256))
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
