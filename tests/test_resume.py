"""Exact resume: a run stopped part way and resumed with ``ckpt_path`` ends where the same run done in one go ends."""
import hashlib
import os
import signal
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback, Trainer, seed_everything
from lightning.pytorch import seed_everything as lightning_seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint

from ganzoo import (ConditionalGAN, DigitsDataModule, Gaussian1D, GANCheckpoint, MaxGeneratorSteps, ProjectionGAN,
                    Ring2D, SelfConditionedGAN, VanillaGAN)
from ganzoo.cli import main


def gaussian_run():
    """Everything that draws random numbers or keeps state: z, the penalty's mixing, dropout,
    n_critic, two schedulers, G's moving average, BatchNorm and validation between epochs."""
    model = VanillaGAN(
        data_shape=[1], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16], g_batch_norm=True, d_dropout=0.2,
        loss="wgan_gp", n_critic=2, ema_decay=0.8,
        g_scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
        d_scheduler=lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95),
    )  # fmt: skip
    return model, Gaussian1D(batch_size=32, num_train=256, num_val=64)  # 8 batches, 4 G steps, per epoch


def conditional_run():
    model = ProjectionGAN(num_classes=10, data_shape=[1, 8, 8], backbone="dcgan", g_width=4, d_width=4, ema_decay=0.9)
    return model, DigitsDataModule(batch_size=64, image_size=8)  # 19 batches per epoch


def self_conditioned_run():
    """Labels from clusters: the buffer of real samples, the frozen trunk, k-means before and after the stop."""
    model = SelfConditionedGAN(num_clusters=4, cluster_samples=128, recluster_every=3, data_shape=[1, 8, 8],
                               g_width=4, d_width=4, ema_decay=0.9)  # clusterings at G steps 1, 4, 7 and 10
    return model, DigitsDataModule(batch_size=64, image_size=8)


def augmented_run():
    """ADA's draws and its p, bCR's transform, packing and minibatch std: the components of docs/augmentation.md."""
    from ganzoo import DCGAN, AdaptiveAugment, BalancedConsistency

    ada = AdaptiveAugment(interval=1, speed_img=256, initial_p=0.5)
    model = DCGAN(data_shape=[1, 8, 8], latent_dim=8, g_width=4, d_width=4, d_norm="none", d_pack=2,
                  d_minibatch_std=2, augmentation=ada, regularisers=[BalancedConsistency()], ema_decay=0.9)
    return model, DigitsDataModule(batch_size=32, image_size=8)


def fit(make_run, tmp_path, g_steps, ckpt_path=None):
    seed_everything(0)
    model, data = make_run()
    trainer = Trainer(
        accelerator="cpu", max_epochs=-1, logger=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[MaxGeneratorSteps(g_steps), GANCheckpoint(dirpath=tmp_path)], limit_val_batches=1,
        num_sanity_val_steps=1,
    )  # fmt: skip
    trainer.fit(model, data, ckpt_path=ckpt_path)
    return model, trainer


def state_of(model, trainer):
    optimizers = [opt.state_dict() for opt in trainer.optimizers]
    return {
        "weights": {k: v.clone() for k, v in model.state_dict().items()},
        "adam": [{i: {k: v.clone() for k, v in s.items()} for i, s in opt["state"].items()} for opt in optimizers],
        "lr": [group["lr"] for opt in optimizers for group in opt["param_groups"]],
        "counters": (model.g_steps, model.d_steps, trainer.global_step, trainer.current_epoch),
    }


@pytest.mark.parametrize(
    "make_run, total, stop",
    [
        (gaussian_run, 11, 5),  # stopped in the middle of the second epoch
        (gaussian_run, 11, 4),  # stopped at the end of the first epoch
        (conditional_run, 12, 7),  # labels, BatchNorm, a DCGAN G
        (augmented_run, 8, 3),  # augmentation drawn per sample, an adaptive p, packs
        (self_conditioned_run, 12, 7),  # the resumed run clusters the buffer the checkpoint held
    ],
    ids=["mid-epoch", "epoch-end", "conditional", "augmented", "self-conditioned"],
)
def test_a_resumed_run_ends_exactly_where_the_run_in_one_go_ends(make_run, total, stop, tmp_path):
    one_go = state_of(*fit(make_run, tmp_path / "one_go", total))

    fit(make_run, tmp_path / "halves", stop)
    checkpoint = tmp_path / "halves" / "last.ckpt"
    stopped = torch.load(checkpoint, weights_only=True)  # random states and loader seed are plain data
    assert stopped["ganzoo_counters"]["g_steps"] == stop and len(stopped["ganzoo_random_states"]) == 1
    resumed = state_of(*fit(make_run, tmp_path / "halves", total, ckpt_path=checkpoint))

    assert resumed["counters"] == one_go["counters"]
    assert resumed["weights"].keys() == one_go["weights"].keys()
    assert any(k.startswith("generator_ema.") for k in one_go["weights"])
    for key, value in one_go["weights"].items():
        assert torch.equal(resumed["weights"][key], value), key
    assert resumed["lr"] == one_go["lr"]
    for opt_resumed, opt_one_go in zip(resumed["adam"], one_go["adam"]):
        for index, state in opt_one_go.items():
            for k, v in state.items():
                assert torch.equal(opt_resumed[index][k], v), (index, k)


def test_resuming_without_the_random_states_gives_another_run(tmp_path, monkeypatch):
    """The check above can fail: the same resume with the random states left out ends elsewhere."""
    one_go = state_of(*fit(gaussian_run, tmp_path / "one_go", 11))
    fit(gaussian_run, tmp_path / "halves", 5)
    checkpoint = tmp_path / "halves" / "last.ckpt"
    state = torch.load(checkpoint, weights_only=True)
    del state["ganzoo_random_states"]
    torch.save(state, checkpoint)
    resumed = state_of(*fit(gaussian_run, tmp_path / "halves", 11, ckpt_path=checkpoint))
    assert resumed["counters"] == one_go["counters"]
    gap = max((resumed["weights"][k] - v).abs().max().item() for k, v in one_go["weights"].items() if v.is_floating_point() and v.numel())
    assert gap > 1e-4


def test_validation_does_not_change_training(tmp_path):
    """Validation draws on a copy of the random state: with or without it, training ends the same."""

    def weights(limit_val_batches):
        seed_everything(0)
        model, data = gaussian_run()
        trainer = Trainer(
            accelerator="cpu", max_epochs=-1, logger=False, enable_progress_bar=False, enable_model_summary=False,
            enable_checkpointing=False, callbacks=[MaxGeneratorSteps(10)], limit_val_batches=limit_val_batches,
            num_sanity_val_steps=0, val_check_interval=3,
        )  # fmt: skip
        trainer.fit(model, data)
        return model.generator.state_dict()

    with_validation, without = weights(2), weights(0)
    for key, value in without.items():
        torch.testing.assert_close(with_validation[key], value, rtol=0, atol=0, msg=key)


# ---------------------------------------------------------------- every checkpoint ganzoo writes
# One go against stopped + resumed, for each way a run stops and each checkpoint it leaves:
#   end_g       last.ckpt written when max_g_steps stopped the run (on_train_end), resumed with a larger max_g_steps
#   end_epochs  last.ckpt written when max_epochs stopped the run (on_train_end), resumed with a larger max_epochs
#   mid_run     a ModelCheckpoint(every_n_train_steps) file written mid-epoch by the run in one go
#   epoch_end   a ModelCheckpoint(every_n_epochs=1) file written in on_train_epoch_end by the run in one go
#   sigterm     last.ckpt written when a SIGTERM stopped the run (mid-epoch, or at an epoch's end)
# Validation runs every 5 batches across epochs (as in the zoo's recipes), so GANCheckpoint's
# last.ckpt at a stop is written when training ends, not at a validation.


class BatchRecorder(Callback):
    """A fingerprint of every batch trained (its samples and labels), in order."""

    def __init__(self):
        self.batches = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        parts = batch if isinstance(batch, (list, tuple)) else [batch]
        self.batches.append(hashlib.sha1(b"".join(t.cpu().numpy().tobytes() for t in parts)).hexdigest())


class SigtermAt(Callback):
    """Sends this process a SIGTERM after the given generator step, as a cluster's preemption would."""

    def __init__(self, g_step):
        self.g_step = g_step

    def on_train_batch_end(self, trainer, pl_module, *args):
        if pl_module.g_steps == self.g_step and not trainer.received_sigterm:
            os.kill(os.getpid(), signal.SIGTERM)


def rhythm_kwargs(rhythm):
    """A run's update rhythm: an integer is ``n_critic``; ``"g<k>"`` is ``g_steps_per_d_step=k`` (one G update a batch)."""
    if isinstance(rhythm, str):
        return {"g_steps_per_d_step": int(rhythm[1:])}
    return {"n_critic": rhythm}


def unconditional(rhythm):
    """G with BatchNorm and a moving average, D with dropout: 8 batches per epoch."""
    model = VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[16], d_hidden_dims=[16], g_batch_norm=True,
                       d_dropout=0.2, **rhythm_kwargs(rhythm), ema_decay=0.8)  # fmt: skip
    return model, Gaussian1D(batch_size=32, num_train=256, num_val=64)


class QuickDigits(DigitsDataModule):
    """Digits whose validation metrics' classifier is fitted once for every run here (the same split)."""

    shared_classifier = None

    def _classifier(self):
        if QuickDigits.shared_classifier is None:
            QuickDigits.shared_classifier = super()._classifier()
        return QuickDigits.shared_classifier


def conditional(rhythm):
    """Labelled digits, G's and D's embeddings of the labels: 12 batches per epoch."""
    model = ConditionalGAN(num_classes=10, data_shape=[1, 8, 8], backbone="mlp", g_width=16, d_width=16,
                           **rhythm_kwargs(rhythm), ema_decay=0.9)  # fmt: skip
    return model, QuickDigits(batch_size=128)


def unconditional_on_device(rhythm):
    """:func:`unconditional` with its batches gathered by index from the samples held on the device (``on_device``,
    the toys' default), and the same through a DataLoader."""
    return unconditional(rhythm)[0], Gaussian1D(batch_size=32, num_train=256, num_val=64, on_device=True)


def unconditional_dataloader(rhythm):
    return unconditional(rhythm)[0], Gaussian1D(batch_size=32, num_train=256, num_val=64, on_device=False)


def conditional_on_device(rhythm):
    return conditional(rhythm)[0], QuickDigits(batch_size=128, on_device=True)


def train(make_run, rhythm, directory, g_steps=None, epochs=-1, ckpt_path=None, callbacks=()):
    """One fit; returns the module, the trainer and the fingerprints of the batches it trained."""
    seed_everything(0)
    model, data = make_run(rhythm)
    recorder = BatchRecorder()
    limit = [MaxGeneratorSteps(g_steps)] if g_steps else []
    trainer = Trainer(
        accelerator="cpu", max_epochs=epochs, logger=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[*limit, GANCheckpoint(dirpath=directory), recorder, *callbacks], limit_val_batches=1,
        val_check_interval=5, check_val_every_n_epoch=None, num_sanity_val_steps=0, default_root_dir=directory,
    )  # fmt: skip
    trainer.fit(model, data, ckpt_path=ckpt_path)
    return model, trainer, recorder.batches


def assert_bit_identical(resumed, one_go):
    """G, D, G's moving average, buffers, optimizer and scheduler states, counters: the same bits."""
    (model, trainer, _), (model_1, trainer_1, _) = resumed, one_go
    assert (model.g_steps, model.d_steps, trainer.global_step, trainer.current_epoch) == (
        model_1.g_steps, model_1.d_steps, trainer_1.global_step, trainer_1.current_epoch)  # fmt: skip
    weights, weights_1 = model.state_dict(), model_1.state_dict()
    assert weights.keys() == weights_1.keys() and any(k.startswith("generator_ema.") for k in weights)
    for key, value in weights_1.items():
        assert torch.equal(weights[key], value), key
    for opt, opt_1 in zip(trainer.optimizers, trainer_1.optimizers, strict=True):
        state, state_1 = opt.state_dict(), opt_1.state_dict()
        assert state["param_groups"] == state_1["param_groups"]
        for index, tensors in state_1["state"].items():
            for name, value in tensors.items():
                assert torch.equal(state["state"][index][name], value), (index, name)


#: (make_run, rhythm, budget in G steps (None: 2 epochs), stop kind, stop point in G steps)
CASES = [
    (unconditional, 1, 20, "end_g", 6),
    (unconditional, 2, 10, "end_g", 4),  # the end of the first epoch
    (unconditional, 1, None, "end_epochs", None),
    (unconditional, 2, None, "end_epochs", None),
    (unconditional, 1, 20, "mid_run", None),
    (unconditional, 2, 10, "epoch_end", None),
    (unconditional, 1, 20, "sigterm", 8),  # SIGTERM at the last batch of an epoch
    (unconditional, 2, 10, "sigterm", 5),
    (conditional, 2, 15, "end_g", 7),
    (conditional, 1, None, "end_epochs", None),
    (conditional, 2, 15, "mid_run", None),
    (conditional, 1, 30, "epoch_end", None),
    (conditional, 1, 30, "sigterm", 17),
    (unconditional_dataloader, 1, 20, "sigterm", 8),  # the toys gather batches on the device by default
    (conditional_on_device, 2, 15, "mid_run", None),
    (unconditional, "g3", 20, "end_g", 7),  # part way through a round: the resumed run's first batch makes no D update
    (unconditional, "g2", None, "end_epochs", None),
    (unconditional, "g2", 20, "mid_run", None),
    (conditional, "g2", 15, "sigterm", 5),
]


def stopped_checkpoint(make_run, rhythm, g_steps, kind, stop, tmp_path, one_go_dir):
    """Stops a run as ``kind`` says; the checkpoint to resume from and the batches trained before it."""
    halves = tmp_path / "halves"
    if kind == "end_g":
        return halves / "last.ckpt", train(make_run, rhythm, halves, g_steps=stop)[2]
    if kind == "end_epochs":
        return halves / "last.ckpt", train(make_run, rhythm, halves, epochs=1)[2]
    if kind == "sigterm":
        with pytest.raises(SystemExit):  # Lightning's SIGTERMException, raised at the end of the batch
            train(make_run, rhythm, halves, g_steps=g_steps, callbacks=[recorder := BatchRecorder(), SigtermAt(stop)])
        return halves / "last.ckpt", recorder.batches
    name = "mid" if kind == "mid_run" else "epoch"
    path = sorted((one_go_dir / name).glob("*.ckpt"), key=os.path.getmtime)[1]  # the second one: not at the start
    return path, None


def file_savers(directory, steps_between):
    return [
        ModelCheckpoint(dirpath=directory / "mid", filename="{step}", every_n_train_steps=steps_between, save_top_k=-1),
        ModelCheckpoint(dirpath=directory / "epoch", filename="{epoch}", every_n_epochs=1, save_top_k=-1,
                        save_on_train_epoch_end=True),
    ]  # fmt: skip


@pytest.mark.filterwarnings("ignore:The dirpath has changed")
@pytest.mark.filterwarnings("ignore:Using ModelCheckpoint with manual optimization")  # after the batch's updates: wanted
@pytest.mark.parametrize(
    "make_run, rhythm, g_steps, kind, stop",
    CASES,
    ids=[f"{c[0].__name__}-{next(f'{k}{v}' for k, v in rhythm_kwargs(c[1]).items())}-{c[3]}" for c in CASES],
)
def test_a_run_resumed_from_any_checkpoint_ends_bit_identical_to_the_run_in_one_go(
    make_run, rhythm, g_steps, kind, stop, tmp_path
):
    one_go_dir = tmp_path / "one_go"
    savers = file_savers(one_go_dir, steps_between=7) if kind in ("mid_run", "epoch_end") else []
    one_go = train(make_run, rhythm, one_go_dir, g_steps=g_steps, epochs=2 if g_steps is None else -1, callbacks=savers)
    checkpoint, before = stopped_checkpoint(make_run, rhythm, g_steps, kind, stop, tmp_path, one_go_dir)

    counters = torch.load(checkpoint, weights_only=True)["ganzoo_counters"]
    trained_before = counters["g_steps" if isinstance(rhythm, str) else "d_steps"]  # one D (or G) step a batch
    if before is not None:  # the stopped run trained the first batches of the run in one go, and no more
        assert len(before) == trained_before and before == one_go[2][:trained_before]
    if kind == "mid_run":
        assert trained_before % one_go[1].num_training_batches  # a checkpoint written part way through an epoch
    resumed = train(make_run, rhythm, tmp_path / "resumed", g_steps=g_steps, epochs=2 if g_steps is None else -1,
                    ckpt_path=checkpoint)  # fmt: skip

    # exactly the missing batches, in the same order ...
    assert resumed[2] == one_go[2][trained_before:] and len(resumed[2]) == len(one_go[2]) - trained_before > 0
    # ... and the same bits at the end
    assert_bit_identical(resumed, one_go)


@pytest.mark.parametrize("on_device, loader", [(unconditional_on_device, unconditional_dataloader), (conditional_on_device, conditional)])
def test_batches_gathered_on_the_device_train_as_the_dataloaders_bit_for_bit(on_device, loader, tmp_path):
    gathered, loaded = train(on_device, 1, tmp_path / "a", g_steps=14), train(loader, 1, tmp_path / "b", g_steps=14)
    assert type(gathered[1].train_dataloader).__name__ == "IndexedBatches"  # no DataLoader behind it
    assert type(loaded[1].train_dataloader).__name__ == "ResumableLoader"
    assert gathered[2] == loaded[2] and len(gathered[2]) == 14  # the same batches in the same order, across an epoch
    assert_bit_identical(gathered, loaded)


# ---------------------------------------------------------------- through the command line, the cases
QUICK_START = Path(__file__).resolve().parents[1] / "zoo_configs" / "vanilla_gaussian1d.yaml"


def cli_fit(directory, *extra):
    """``ganzoo fit`` of the quick-start recipe, shrunk: 8 batches an epoch, a validation every 5."""
    main(["fit", "--config", str(QUICK_START), "--trainer.logger=false", f"--trainer.default_root_dir={directory}",
          "--data.init_args.num_train=2048", "--data.init_args.num_val=256", "--trainer.val_check_interval=5", *extra])  # fmt: skip
    return torch.load(directory / "checkpoints" / "last.ckpt", weights_only=True)


@pytest.mark.filterwarnings("ignore:The dirpath has changed")
@pytest.mark.parametrize(
    "budget, half",
    [
        (["--max_g_steps=12"], ["--max_g_steps=6"]),  # issue 14: 300 vs 150 + resume ended 3.9e-4 apart in G
        (["--trainer.max_epochs=2"], ["--trainer.max_epochs=1"]),  # issue 14: the resumed run trained 1 batch, not 195
    ],
    ids=["max_g_steps", "max_epochs"],
)
def test_ganzoo_fit_continues_a_finished_run_from_last_ckpt_bit_identically(budget, half, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_go = cli_fit(tmp_path / "one_go", *budget)
    stopped = cli_fit(tmp_path / "half", *half)
    resumed = cli_fit(tmp_path / "resumed", *budget, f"--ckpt_path={tmp_path / 'half' / 'checkpoints' / 'last.ckpt'}")

    expected_g_steps = 12 if "--max_g_steps=12" in budget else 16  # max_epochs: two whole epochs of 8 batches
    assert one_go["ganzoo_counters"]["g_steps"] == resumed["ganzoo_counters"]["g_steps"] == expected_g_steps
    assert stopped["ganzoo_counters"]["g_steps"] == (6 if "--max_g_steps=6" in half else 8)
    assert resumed["epoch"] == one_go["epoch"]
    for key, value in one_go["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key
    for opt, opt_1 in zip(resumed["optimizer_states"], one_go["optimizer_states"], strict=True):
        for index, tensors in opt_1["state"].items():
            for name, value in tensors.items():
                assert torch.equal(opt["state"][index][name], value), (index, name)
    assert resumed["lr_schedulers"] == one_go["lr_schedulers"]


@pytest.mark.filterwarnings("ignore:The dirpath has changed")
def test_a_run_resumed_twice_and_with_another_seed_keeps_the_order_and_the_bits(tmp_path, monkeypatch):
    """The position a resumed run records is right for the next resume, and the data order is the
    checkpoint's: a resume seeded otherwise (the random states come from the checkpoint) changes nothing."""
    one_go = train(unconditional, 1, tmp_path / "one_go", epochs=3)
    first = train(unconditional, 1, tmp_path / "first", epochs=1)
    monkeypatch.setattr(f"{__name__}.seed_everything", lambda seed: lightning_seed_everything(seed + 5))
    second = train(unconditional, 1, tmp_path / "second", epochs=2, ckpt_path=tmp_path / "first" / "last.ckpt")
    third = train(unconditional, 1, tmp_path / "third", epochs=3, ckpt_path=tmp_path / "second" / "last.ckpt")
    assert [len(run[2]) for run in (first, second, third)] == [8, 8, 8]
    assert first[2] + second[2] + third[2] == one_go[2]
    assert_bit_identical(third, one_go)


def test_a_finished_run_that_skipped_updates_continues_from_its_limit(tmp_path):
    """With on_nonfinite_loss: skip, max_g_steps still counts G updates across a resume."""
    from helpers import nan_model

    def run(g_steps, ckpt_path=None):
        seed_everything(0)
        model, recorder = nan_model("skip"), BatchRecorder()
        trainer = Trainer(accelerator="cpu", max_epochs=-1, logger=False, enable_progress_bar=False,
                          enable_model_summary=False, limit_val_batches=0,
                          callbacks=[MaxGeneratorSteps(g_steps), GANCheckpoint(dirpath=tmp_path), recorder])  # fmt: skip
        trainer.fit(model, Ring2D(batch_size=32, num_train=512), ckpt_path=ckpt_path)
        return model, recorder.batches

    model, _ = run(5)
    assert (model.g_steps, model.d_steps, model.skipped_steps) == (5, 4, 1)
    model, batches = run(5, ckpt_path=tmp_path / "last.ckpt")  # already done: not one more batch
    assert batches == [] and model.g_steps == 5
    model, batches = run(8, ckpt_path=tmp_path / "last.ckpt")
    assert len(batches) == 3 and (model.g_steps, model.skipped_steps) == (8, 1)


@pytest.mark.filterwarnings("ignore:The dirpath has changed")
@pytest.mark.parametrize("g_steps, epochs", [(6, -1), (None, 1)], ids=["mid-epoch", "epoch-end"])
def test_a_last_ckpt_written_before_positions_were_recorded_resumes_exactly(g_steps, epochs, tmp_path):
    """Older last.ckpt files hold no ganzoo_position: the position is read from Lightning's counters."""
    one_go = train(unconditional, 1, tmp_path / "one_go", epochs=2)
    train(unconditional, 1, tmp_path / "half", g_steps=g_steps, epochs=epochs)
    checkpoint = torch.load(tmp_path / "half" / "last.ckpt", weights_only=True)
    del checkpoint["ganzoo_position"]
    torch.save(checkpoint, tmp_path / "old.ckpt")
    resumed = train(unconditional, 1, tmp_path / "resumed", epochs=2, ckpt_path=tmp_path / "old.ckpt")
    assert resumed[2] == one_go[2][checkpoint["ganzoo_counters"]["d_steps"]:]
    assert_bit_identical(resumed, one_go)


def test_checkpoints_hold_the_lightning_loop_state_that_ganzoo_resume_rewrites(tmp_path):
    """ganzoo.resume reads and writes Lightning's private loop-state layout: this fails when upstream renames it."""
    from ganzoo.resume import restore_position

    train(unconditional, 1, tmp_path, g_steps=3)
    checkpoint = torch.load(tmp_path / "last.ckpt", weights_only=True)
    fit_loop = checkpoint["loops"]["fit_loop"]
    for key in ("epoch_progress", "epoch_loop.batch_progress"):
        for tracker in ("total", "current"):
            assert set(fit_loop[key][tracker]) == {"ready", "started", "processed", "completed"}, key
    assert "is_last_batch" in fit_loop["epoch_loop.batch_progress"]
    assert "_batches_that_stepped" in fit_loop["epoch_loop.state_dict"]
    assert checkpoint["ganzoo_position"] == {"epoch": 0, "batches": 3, "seed": 0}

    del fit_loop["epoch_progress"]
    with pytest.warns(UserWarning, match="does not know this checkpoint's loop state"):
        assert restore_position(checkpoint) is None
