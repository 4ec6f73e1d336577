"""Conditional GANs: cGAN, AC-GAN and the projection discriminator on the MLP, DCGAN and ResNet backbones."""
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn.utils import parametrize
from torch.utils.data import DataLoader, TensorDataset

from ganzoo import (
    ACGAN,
    ConditionalGAN,
    ConfigError,
    DigitsDataModule,
    GANModule,
    MaxGeneratorSteps,
    ProjectionGAN,
    SampleGrid,
    VanillaGAN,
)
from ganzoo.cli import main
from ganzoo.metrics.domain import conditional_accuracy, load_domain_classifier
from ganzoo.nets import AuxiliaryClassifierDiscriminator, ConcatDiscriminator, ProjectionDiscriminator

VARIANTS = [ConditionalGAN, ACGAN, ProjectionGAN]
BACKBONES = {
    "dcgan": {"g_width": 4, "d_width": 4},
    "mlp": {"g_hidden_dims": [16], "d_hidden_dims": [16]},
    "resnet": {"g_width": 4, "d_width": 4},
}
K = 3


def tiny(cls=ConditionalGAN, backbone="dcgan", **kwargs):
    return cls(num_classes=K, data_shape=(1, 8, 8), backbone=backbone, latent_dim=6, **BACKBONES[backbone], **kwargs)


def labelled_loaders(n=48, batch_size=8):
    torch.manual_seed(0)
    images, labels = torch.rand(n, 1, 8, 8) * 2 - 1, torch.randint(K, (n,))
    data = TensorDataset(images, labels)
    return DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=True), DataLoader(data, batch_size=batch_size)


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
@pytest.mark.parametrize("cls", VARIANTS, ids=lambda c: c.__name__)
def test_each_variant_on_each_backbone_has_the_shapes_and_trains(cls, backbone, trainer_kwargs):
    pl.seed_everything(0)
    model = tiny(cls, backbone)
    z, labels = model.sample_prior(5), torch.tensor([0, 1, 2, 0, 1])
    assert model(z, labels).shape == (5, 1, 8, 8)
    assert model.discriminate(model(z, labels), labels).shape == (5,)
    expected_d = {ConditionalGAN: ConcatDiscriminator, ACGAN: AuxiliaryClassifierDiscriminator,
                  ProjectionGAN: ProjectionDiscriminator}[cls]  # fmt: skip
    assert type(model.discriminator) is expected_d
    if cls is ACGAN:
        scores, classes = model.discriminator(model(z, labels))
        assert scores.shape == (5,) and classes.shape == (5, K)

    train, val = labelled_loaders()
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=1, val_check_interval=2,
                         check_val_every_n_epoch=None, log_every_n_steps=1, callbacks=[MaxGeneratorSteps(4)])
    before = [p.detach().clone() for p in model.generator.parameters()]
    trainer.fit(model, train, val)
    assert model.g_steps == 4
    assert any(not torch.equal(a, b) for a, b in zip(before, model.generator.parameters()))
    metrics = trainer.callback_metrics
    assert all(torch.isfinite(metrics[k]) for k in ("train/d_loss", "train/g_loss", "val/d_loss", "val/g_loss"))
    if cls is ACGAN:  # D's class head is trained and reported, for both players
        for key in ("train/d_class_loss", "train/d_class_acc_real", "train/g_class_loss", "train/g_class_acc"):
            assert key in metrics and torch.isfinite(metrics[key]), key
        assert "val/d_class_acc_real" in metrics


@pytest.mark.parametrize("cls", VARIANTS, ids=lambda c: c.__name__)
def test_the_label_reaches_g_and_d(cls):
    torch.manual_seed(0)
    model = tiny(cls).eval()
    z = model.sample_prior(4)
    zeros, twos = torch.zeros(4, dtype=torch.long), torch.full((4,), 2)
    assert not torch.allclose(model(z, zeros), model(z, twos))
    x = model(z, zeros).detach()
    if cls is ACGAN:  # D sees no label: its class head reads it from the sample
        assert torch.equal(model.discriminate(x, zeros), model.discriminate(x, twos))
    else:
        assert not torch.allclose(model.discriminate(x, zeros), model.discriminate(x, twos))


def test_projection_score_is_linear_score_plus_projection():
    torch.manual_seed(0)
    d = ProjectionDiscriminator(torch.nn.Flatten(), 4, num_classes=3, spectral=False)
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 1, 0])
    expected = d.head(x).squeeze(1) + (d.embed.weight[y] * x).sum(1)
    torch.testing.assert_close(d(x, y), expected)


def test_spectral_norm_covers_the_heads_and_the_class_embedding():
    model = tiny(ProjectionGAN)  # spectral by default, as in the paper
    d = model.discriminator
    assert parametrize.is_parametrized(d.head, "weight") and parametrize.is_parametrized(d.embed, "weight")
    assert all(parametrize.is_parametrized(m, "weight") for m in d.features.modules() if isinstance(m, torch.nn.Conv2d))
    mlp = tiny(ACGAN, "mlp", d_norm="spectral").discriminator
    linears = [m for m in mlp.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 3 and all(parametrize.is_parametrized(m, "weight") for m in linears)
    assert not parametrize.is_parametrized(tiny(ACGAN, "mlp").discriminator.head, "weight")
    vanilla = VanillaGAN(data_shape=[2], d_hidden_dims=[8], d_norm="spectral").discriminator  # the same option unconditioned
    assert all(parametrize.is_parametrized(m, "weight") for m in vanilla.modules() if isinstance(m, torch.nn.Linear))
    assert tiny(ProjectionGAN).hparams.loss == "hinge"


def test_generate_takes_one_class_a_list_or_a_tensor():
    torch.manual_seed(0)
    model = tiny()
    one = model.generate(4, seed=0, labels=2)
    assert torch.equal(one, model.generate(4, seed=0, labels=[2, 2, 2, 2]))
    assert torch.equal(one, model.generate(4, seed=0, labels=torch.full((4,), 2)))
    assert torch.equal(one, model.generate(4, seed=0, labels=np.array([2, 2, 2, 2])))
    assert not torch.equal(one, model.generate(4, seed=0, labels=1))
    # Without labels: classes drawn from the seed, so the same seed gives the same samples.
    assert torch.equal(model.generate(6, seed=3), model.generate(6, seed=3))
    mixed = model.generate(3, seed=0, labels=[0, 1, 2])
    for i in range(3):
        torch.testing.assert_close(mixed[i], model.decode(model.sample_prior(3, torch.Generator().manual_seed(0)), i)[i])


@pytest.mark.parametrize(
    "labels, message",
    [
        (3, r"label 3 is outside \[0, 3\): ConditionalGAN has 3 classes; pass class indices 0\.\.2"),
        ([0, -1, 1, 2], r"label -1 is outside \[0, 3\)"),
        ([0.0, 1.0, 1.0, 1.0], r"labels must be integer class indices, got dtype torch\.float32"),
        ([0, 1], r"got 2 labels of shape \(2,\) for 4 samples; pass one label per sample or a single class"),
        ("seven", r"labels must be integer class indices, got 'seven'"),
    ],
)
def test_bad_labels_fail_with_one_line(labels, message):
    with pytest.raises(ConfigError, match=message) as error:
        tiny().generate(4, labels=labels)
    assert "\n" not in str(error.value)


def test_unconditional_gans_refuse_labels_and_conditional_ones_need_them():
    vanilla = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    with pytest.raises(ConfigError, match="VanillaGAN is unconditional and takes no labels"):
        vanilla.generate(4, labels=1)
    model = tiny()
    with pytest.raises(ConfigError, match="ConditionalGAN is conditional: pass labels"):
        model.decode(model.sample_prior(2))
    with pytest.raises(ConfigError, match="needs labelled data, but num_classes is 0"):
        ConditionalGAN(num_classes=0, data_shape=(1, 8, 8))
    with pytest.raises(ConfigError, match=r"backbone 'dcgan' makes images \(C, S, S\), but data_shape is \(2,\); use backbone: mlp"):
        ConditionalGAN(num_classes=3, data_shape=[2])
    assert ConditionalGAN(num_classes=3, data_shape=[2], backbone="mlp").generate(4).shape == (4, 2)
    with pytest.raises(ConfigError, match="unknown backbone 'resnest'; choose one of: dcgan, mlp, resnet"):
        ConditionalGAN(num_classes=3, data_shape=(1, 8, 8), backbone="resnest")
    with pytest.raises(ConfigError, match="unknown MLP discriminator norm 'batch'; choose one of: none, spectral"):
        tiny(backbone="mlp", d_norm="batch")
    with pytest.raises(ConfigError, match="class_weight must be a number >= 0, got -1"):
        tiny(ACGAN, class_weight=-1)


def test_training_on_unlabelled_batches_fails_with_one_line(trainer_kwargs):
    images = TensorDataset(torch.rand(16, 1, 8, 8) * 2 - 1)
    trainer = pl.Trainer(**trainer_kwargs, max_steps=2, limit_val_batches=0)
    with pytest.raises(ConfigError, match="trains on batches \\(samples, labels\\)"):
        trainer.fit(tiny(), DataLoader(images, batch_size=8))


@pytest.mark.parametrize("cls", VARIANTS, ids=lambda c: c.__name__)
def test_checkpoint_round_trip_keeps_class_and_samples(cls, trainer_kwargs, tmp_path):
    pl.seed_everything(0)
    model = tiny(cls, "mlp", embed_dim=5)
    train, _ = labelled_loaders()
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(3)])
    trainer.fit(model, train)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    loaded = GANModule.load_from_checkpoint(path, map_location="cpu")
    assert type(loaded) is cls and loaded.num_classes == K and loaded.embed_dim == 5 and loaded.g_steps == 3
    labels = torch.tensor([0, 1, 2, 2])
    assert torch.equal(loaded.generate(4, seed=1, labels=labels), model.generate(4, seed=1, labels=labels))
    if cls is ACGAN:
        assert loaded.class_weight == model.class_weight


@pytest.mark.parametrize("cls", VARIANTS, ids=lambda c: c.__name__)
def test_short_run_on_real_digits_learns_the_class(cls, trainer_kwargs):
    """300 G steps on scikit-learn's real 8x8 digits: the shipped digits classifier (trained on real
    digits) reads the requested digit in most samples; chance is 10%. Observed: 0.64 / 0.98 / 0.98."""
    pl.seed_everything(0)
    model = cls(num_classes=10, data_shape=(1, 8, 8), backbone="mlp", latent_dim=16,
                g_hidden_dims=[128, 128], d_hidden_dims=[128, 128])  # fmt: skip
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(300)])
    trainer.fit(model, DigitsDataModule(batch_size=64, image_size=8))
    labels = torch.arange(1000) % 10
    accuracy = conditional_accuracy(load_domain_classifier("digits").probs(model.generate(1000, seed=0, labels=labels)), labels)
    assert accuracy > 0.5, accuracy


def test_sample_grid_draws_one_row_per_class(trainer_kwargs, tmp_path):
    pl.seed_everything(0)
    model = tiny()
    train, _ = labelled_loaders()
    grid = SampleGrid(every_n_steps=100, nrow=4, interpolation_rows=2, interpolation_steps=5, upscale=1, verbose=False)
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=0, callbacks=[MaxGeneratorSteps(2), grid])
    trainer.fit(model, train)
    picture = np.asarray(Image.open(grid.last_grid))
    assert picture.shape[:2] == (K * 10 + 2, 4 * 10 + 2)  # K rows of 8 px images with 2 px padding, 4 columns
    # Row c is class c drawn from the same four codes as every other row.
    codes, labels = model.class_rows(model.fixed_latents()[:4], range(K))
    assert labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4 and torch.equal(codes[:4], codes[4:8])
    rows = model.decode(codes, labels)
    expected = ((rows + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    assert np.array_equal(picture[12:20, 2:10, 0], expected[4, 0].numpy())  # class 1, first code
    assert model.walk_labels(3, 2, [1, 2]).tolist() == [1, 1, 2, 2, 1, 1]  # one class along each walk, cycling
    assert model.walk_labels(4, 1).tolist() == [0, 1, 2, 0]
    assert VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8]).walk_labels(2, 3) is None
    walk = np.asarray(Image.open(grid.written[-1]))
    assert walk.shape[:2] == (2 * 10 + 2, 5 * 10 + 2)
    with pytest.raises(ConfigError, match="label 5 is outside"):
        SampleGrid(classes=[0, 5]).setup(trainer, model, "fit")


ROOT = Path(__file__).resolve().parents[2]


def cli_args(tmp_path, steps):
    return [f"--max_g_steps={steps}", f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}",
            f"--trainer.default_root_dir={tmp_path}"]  # fmt: skip


def test_cgan_digits_recipe_trains_and_generates_requested_digits_through_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "offline")
    main(["fit", "--config", str(ROOT / "zoo_configs" / "cgan_digits.yaml"), *cli_args(tmp_path, 3)])
    checkpoint = next((tmp_path / "runs").rglob("last.ckpt"))
    grid = sorted((tmp_path / "runs").rglob("grid_g000003.png"))[0]
    assert np.asarray(Image.open(grid)).shape[:2] == (10 * 34 + 2, 8 * 34 + 2)  # ten digits' rows of 8 codes

    main(["generate", str(checkpoint), "--labels", "7", "--num_samples", "20", "--output", str(tmp_path / "sevens.npz")])
    sevens = np.load(tmp_path / "sevens.npz")
    assert sevens["samples"].shape == (20, 8, 8, 1) and (sevens["labels"] == 7).all()
    assert "20 samples of ConditionalGAN after 3 generator steps, seed 0, classes 7" in capsys.readouterr().out

    main(["generate", str(checkpoint), "--labels", "all", "--num_samples", "3", "--output", str(tmp_path / "all.npz")])
    every = np.load(tmp_path / "all.npz")
    assert every["labels"].tolist() == [c for c in range(10) for _ in range(3)]
    module = GANModule.load_from_checkpoint(checkpoint, map_location="cpu")
    z = module.sample_prior(3, torch.Generator().manual_seed(0))  # the same three codes in every class's row
    expected = ((module.decode(z, 4) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    assert np.array_equal(every["samples"][12:15], expected.numpy())

    main(["generate", str(checkpoint), "--labels", "2", "5", "--num_samples", "4", "--output", str(tmp_path / "rows.png")])
    assert Image.open(tmp_path / "rows.png").size == (4 * 10 + 2, 2 * 10 + 2)  # one row per class, 4 per row

    for labels, message in [(["10"], "label 10 is outside [0, 10): ConditionalGAN has 10 classes"),
                            (["seven"], "--labels takes class indices or 'all', got 'seven'")]:  # fmt: skip
        with pytest.raises(SystemExit) as info:
            main(["generate", str(checkpoint), "--labels", *labels, "--output", str(tmp_path / "bad.png")])
        err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganzoo: error:")]
        assert info.value.code == 2 and len(err) == 1 and message in err[0]
    assert not (tmp_path / "bad.png").exists()


def test_a_conditional_model_on_unlabelled_data_fails_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", str(ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml"), *cli_args(tmp_path, 3),
              "--model=ganzoo.ConditionalGAN", "--model.init_args.backbone=mlp"])  # fmt: skip
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganzoo: error:")]
    assert info.value.code == 2 and len(err) == 1
    assert "ConditionalGAN needs labelled data, but num_classes is 0" in err[0]
    assert not list(tmp_path.rglob("*.ckpt"))


def test_generate_refuses_labels_for_an_unconditional_checkpoint(tmp_path, capsys):
    model = VanillaGAN(data_shape=[2], latent_dim=4, g_hidden_dims=[8], d_hidden_dims=[8])
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, max_steps=0, enable_progress_bar=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(tmp_path / "v.ckpt")
    with pytest.raises(SystemExit) as info:
        main(["generate", str(tmp_path / "v.ckpt"), "--labels", "1", "--output", str(tmp_path / "v.npz")])
    assert info.value.code == 2
    assert "ganzoo: error: VanillaGAN is unconditional and takes no labels" in capsys.readouterr().err


@pytest.mark.parametrize("fake_class_loss", [True, False])
def test_acgan_objectives_add_the_weighted_class_losses(fake_class_loss):
    torch.manual_seed(0)
    model = tiny(ACGAN, "mlp", class_weight=0.5, fake_class_loss=fake_class_loss)
    real, labels = torch.rand(6, 1, 8, 8) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2])
    fake = model(model.sample_prior(6), labels).detach()
    (real_scores, real_classes), (fake_scores, fake_classes) = model.discriminator(real), model.discriminator(fake)
    real_ce, fake_ce = (torch.nn.functional.cross_entropy(c, labels) for c in (real_classes, fake_classes))
    class_loss = real_ce + fake_ce if fake_class_loss else real_ce  # without it, D learns classes from real data only
    d_step = model.discriminator_objective(real, fake, labels)
    torch.testing.assert_close(d_step.terms["class_loss"], class_loss)
    torch.testing.assert_close(d_step.loss, model.discriminator_loss(real_scores, fake_scores) + 0.5 * class_loss)
    g_loss, g_terms = model.generator_objective(fake, labels)
    torch.testing.assert_close(g_loss, model.generator_loss(fake_scores) + 0.5 * fake_ce)  # G's class loss: always on its fakes
    assert g_terms["class_acc"] == (fake_classes.argmax(1) == labels).float().mean()
