"""Exact resume: a run stopped part way and resumed with ``ckpt_path`` ends where the same run done in one go ends."""
import pytest
import torch
from lightning.pytorch import Trainer, seed_everything

from ganzoo import DigitsDataModule, Gaussian1D, GANCheckpoint, MaxGeneratorSteps, ProjectionGAN, VanillaGAN


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
    ],
    ids=["mid-epoch", "epoch-end", "conditional"],
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
        torch.testing.assert_close(resumed["weights"][key], value, rtol=0, atol=1e-6, msg=key)
    assert resumed["lr"] == one_go["lr"]
    for opt_resumed, opt_one_go in zip(resumed["adam"], one_go["adam"]):
        for index, state in opt_one_go.items():
            for k, v in state.items():
                torch.testing.assert_close(opt_resumed[index][k], v, rtol=0, atol=1e-6)


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
