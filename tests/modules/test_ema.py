"""The moving average of G: its arithmetic, where it is used, and that checkpoints keep it."""
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch import Callback, Trainer, seed_everything

from ganzoo import DigitsDataModule, GANModule, Gaussian1D, MaxGeneratorSteps, ProjectionGAN, VanillaGAN
from ganzoo.cli import main
from ganzoo.errors import ConfigError

QUICK_START = str(Path(__file__).resolve().parents[2] / "zoo_configs" / "vanilla_gaussian1d.yaml")


def vanilla(**kwargs):
    return VanillaGAN(data_shape=[1], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8], **kwargs)


class RecordG(Callback):
    """G's weights after each G update."""

    def __init__(self):
        self.after_g_steps = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.after_g_steps.append([p.detach().clone() for p in pl_module.generator.parameters()])


def train(model, g_steps, callbacks=(), data=None, **trainer_kwargs):
    trainer = Trainer(
        accelerator="cpu", max_epochs=-1, logger=False, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, limit_val_batches=0, callbacks=[MaxGeneratorSteps(g_steps), *callbacks],
        **trainer_kwargs,
    )  # fmt: skip
    trainer.fit(model, data or Gaussian1D(batch_size=32, num_train=256))
    return trainer


@pytest.mark.parametrize("ema_start", [0, 3])
def test_the_average_follows_its_recursion_and_starts_as_a_copy(ema_start):
    seed_everything(0)
    model = vanilla(ema_decay=0.8, ema_start=ema_start)
    initial = [p.detach().clone() for p in model.generator.parameters()]
    recorder = RecordG()
    train(model, 6, [recorder])
    expected = initial
    for step, weights in enumerate(recorder.after_g_steps, start=1):
        t = step - ema_start - 1  # G steps averaged before this one
        d = min(0.8, (1 + t) / (10 + t))  # the warm-up: 0.1, 0.18, 0.25, ...
        expected = weights if step <= ema_start else [d * a + (1 - d) * w for a, w in zip(expected, weights)]
    for kept, want, live in zip(model.generator_ema.parameters(), expected, model.generator.parameters()):
        torch.testing.assert_close(kept, want, rtol=1e-5, atol=1e-7)
        assert not kept.requires_grad and not torch.equal(kept, live)  # an average, never trained itself
    g_optimizer = model.trainer.optimizers[0]
    assert sum(len(group["params"]) for group in g_optimizer.param_groups) == len(list(model.generator.parameters()))


def test_the_decay_warms_up_to_ema_decay():
    model = vanilla(ema_decay=0.999, ema_start=2)
    decays = {}
    for g_steps in (3, 4, 12, 100, 10_000):
        model.g_steps = g_steps
        decays[g_steps] = model.ema_decay_now()
    assert decays[3] == pytest.approx(0.1) and decays[4] == pytest.approx(2 / 11) and decays[12] == pytest.approx(10 / 19)
    assert decays[100] == pytest.approx(98 / 107) and decays[10_000] == 0.999


def test_samples_come_from_the_average_unless_asked_otherwise():
    seed_everything(0)
    model = vanilla(ema_decay=0.5)
    train(model, 5)
    z = model.sample_prior(16, torch.Generator().manual_seed(1))
    with torch.no_grad():
        from_average, from_g = model.generator_ema.eval()(z), model.generator.eval()(z)
    assert not torch.allclose(from_average, from_g)
    torch.testing.assert_close(model.decode(z), from_average)
    torch.testing.assert_close(model.decode(z, ema=False), from_g)
    torch.testing.assert_close(model.generate(16, seed=1), from_average)
    assert model.sampled_generator() == "moving average"
    model.sample_from_ema = False
    torch.testing.assert_close(model.generate(16, seed=1), from_g)
    assert model.sampled_generator() == "G"
    assert model.generator is not model.generator_ema  # G is back in place after sampling


def test_a_conditional_variant_samples_its_average_too():
    """The average takes G's place, so a variant's own forward (labels and all) uses it."""
    seed_everything(0)
    model = ProjectionGAN(num_classes=10, data_shape=[1, 8, 8], backbone="dcgan", g_width=4, d_width=4, ema_decay=0.5)
    train(model, 3, data=DigitsDataModule(batch_size=32, image_size=8))
    z, labels = model.sample_prior(8, torch.Generator().manual_seed(0)), torch.arange(8)
    with torch.no_grad():
        expected = model.generator_ema.eval()(z, labels)
    torch.testing.assert_close(model.decode(z, labels), expected)
    assert not torch.allclose(model.decode(z, labels, ema=False), expected)


def test_bad_settings_and_asking_for_an_average_that_is_not_kept():
    for bad in (0, 1, 1.5, -0.1, True, "0.9"):
        with pytest.raises(ConfigError, match=r"ema_decay must be a number in \(0, 1\), got"):
            vanilla(ema_decay=bad)
    with pytest.raises(ConfigError, match="ema_start must be a non-negative integer, got -1"):
        vanilla(ema_decay=0.9, ema_start=-1)
    model = vanilla()
    assert model.generator_ema is None and not model.samples_from_ema()
    with pytest.raises(ConfigError, match="keeps no moving average of G; set ema_decay"):
        model.generate(4, ema=True)
    assert model.generate(4, seed=0).shape == (4, 1)  # ema=None: G itself


def test_the_average_is_saved_and_loaded_with_the_checkpoint(tmp_path):
    seed_everything(0)
    model = vanilla(ema_decay=0.7)
    trainer = train(model, 4)
    path = tmp_path / "ema.ckpt"
    trainer.save_checkpoint(path)
    saved = torch.load(path, weights_only=True)["state_dict"]
    assert any(k.startswith("generator_ema.") for k in saved)
    loaded = GANModule.load_from_checkpoint(path)
    for (name, kept), (_, again) in zip(model.generator_ema.state_dict().items(), loaded.generator_ema.state_dict().items()):
        torch.testing.assert_close(again, kept, rtol=0, atol=0, msg=name)
    torch.testing.assert_close(loaded.generate(32, seed=3), model.generate(32, seed=3))
    assert loaded.ema_decay == 0.7 and loaded.samples_from_ema()


def test_the_cli_trains_with_an_average_and_generate_chooses(tmp_path, capsys):
    runs = tmp_path / "runs"
    main(["fit", "--config", QUICK_START, "--max_g_steps=6", "--model.init_args.ema_decay=0.9",
          f"--trainer.logger.init_args.save_dir={runs}", f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    (checkpoint,) = runs.rglob("last.ckpt")
    average, live = tmp_path / "average.npz", tmp_path / "live.npz"
    main(["generate", str(checkpoint), "--num_samples", "50", "--output", str(average)])
    assert "(moving average of G, decay 0.9)" in capsys.readouterr().out
    main(["generate", str(checkpoint), "--num_samples", "50", "--output", str(live), "--no_ema"])
    assert "moving average" not in capsys.readouterr().out
    samples = {name: np.load(path)["samples"] for name, path in (("average", average), ("live", live))}
    loaded = GANModule.load_from_checkpoint(checkpoint)
    np.testing.assert_allclose(samples["average"], loaded.generate(50, seed=0).numpy(), rtol=1e-6)
    np.testing.assert_allclose(samples["live"], loaded.generate(50, seed=0, ema=False).numpy(), rtol=1e-6)


def test_a_bad_ema_decay_through_the_cli_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", QUICK_START, "--model.init_args.ema_decay=1.5",
              f"--trainer.default_root_dir={tmp_path}", f"--trainer.logger.init_args.save_dir={tmp_path}"])  # fmt: skip
    assert info.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganzoo: error:")]
    assert lines == ["ganzoo: error: ema_decay must be a number in (0, 1), got 1.5; e.g. ema_decay=0.999, or leave it out"]
