from pathlib import Path
from types import SimpleNamespace

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo import MaxGeneratorSteps, VanillaGAN
from ganzoo.cli import GANZooCLI, main
from ganzoo.data import (
    CIFAR10DataModule,
    DigitsDataModule,
    FashionMNISTDataModule,
    ImageDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
)
from ganzoo.errors import ConfigError
from helpers import SHARED_DATA  # constructing and parsing read no data; loading goes through mnist_dir

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    dm = MNISTDataModule(data_dir=str(mnist_dir))
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_mnist_shapes_are_known_before_setup():
    dm = MNISTDataModule(data_dir=str(SHARED_DATA), image_size=32)
    assert isinstance(dm, ImageDataModule) and not dm.splits
    assert dm.image_shape == dm.data_shape == (1, 32, 32) and dm.num_classes == 10
    assert MNISTDataModule(data_dir=str(SHARED_DATA)).data_shape == (1, 28, 28)
    assert CIFAR10DataModule().image_shape == (3, 32, 32) and FashionMNISTDataModule().image_shape == (1, 28, 28)


def test_real_mnist_loads_as_images_in_minus_one_one(mnist):
    assert [len(mnist.splits[s]) for s in ("train", "val", "test")] == [60_000, 10_000, 10_000]
    images, labels = next(iter(mnist.val_dataloader()))
    assert images.shape == (128, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() == -1 and images.max() == 1  # bytes 0 and 255 map exactly onto the ends
    assert labels.dtype == torch.int64 and 0 <= labels.min() and labels.max() <= 9
    assert len(mnist.train_dataloader()) == 60_000 // 128  # drop_last
    train_labels = next(iter(mnist.train_dataloader()))[1]
    assert not torch.equal(train_labels, mnist.splits["train"].labels[:128])  # shuffled
    predicted = next(iter(mnist.predict_dataloader()))[1]
    assert torch.equal(predicted, labels) and torch.equal(next(iter(mnist.val_dataloader()))[1], labels)


def test_mnist_keeps_the_official_order(mnist):
    assert mnist.splits["train"].labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.splits["test"].labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert mnist.splits["val"] is mnist.splits["test"]  # GAN training never fits the test split


def test_mnist_resized_to_32(mnist, mnist_dir):
    dm = MNISTDataModule(data_dir=str(mnist_dir), image_size=32, batch_size=64)
    dm.setup("fit")
    images, labels = next(iter(dm.val_dataloader()))
    assert images.shape == (64, 1, 32, 32) and -1 <= images.min() and images.max() <= 1
    native = torch.stack([mnist.splits["val"][i][0] for i in range(64)])
    assert torch.equal(labels, mnist.splits["val"].labels[:64])
    # the same digits, resized: each image's mean ink stays put
    assert torch.allclose(images.mean(dim=(1, 2, 3)), native.mean(dim=(1, 2, 3)), atol=0.03)


@pytest.mark.parametrize(
    "cls, expected",
    [
        (MNISTDataModule, "MNIST/raw/train-images-idx3-ubyte"),
        (FashionMNISTDataModule, "FashionMNIST/raw/train-images-idx3-ubyte"),
        (CIFAR10DataModule, "cifar-10-batches-py/data_batch_1"),
    ],
)
@pytest.mark.parametrize("hook", ["prepare_data", "setup"])
def test_missing_torchvision_data_fails_in_one_line(cls, expected, hook, tmp_path):
    dm = cls(data_dir=str(tmp_path))
    with pytest.raises(ConfigError) as info:
        getattr(dm, hook)()
    message = str(info.value)
    assert message.startswith(f"{cls.dataset_class.__name__} not found under '{tmp_path}'")
    assert str(tmp_path / expected) in message and "--data.download true" in message and "\n" not in message
    assert not list(tmp_path.iterdir())  # nothing downloaded or created


def test_channels_last_arrays_become_channels_first(monkeypatch):
    """CIFAR-10 stores (N, H, W, 3) numpy bytes; no copy of CIFAR-10 is at hand, so a stand-in serves."""
    data = np.zeros((40, 32, 32, 3), dtype=np.uint8)
    data[..., 0] = 255
    data[..., 2] = 51
    monkeypatch.setattr(CIFAR10DataModule, "_dataset", lambda self, train: SimpleNamespace(data=data, targets=[3] * 40))
    for image_size in (None, 16):
        dm = CIFAR10DataModule(batch_size=8, image_size=image_size)
        dm.setup("fit")
        images, labels = next(iter(dm.train_dataloader()))
        assert images.shape == (8, *dm.image_shape) and labels.tolist() == [3] * 8
        assert (images[:, 0] == 1).all() and (images[:, 1] == -1).all()
        assert torch.allclose(images[:, 2], torch.tensor(51 / 127.5 - 1))


def test_cli_links_image_shape_and_reports_missing_data_in_one_line(capsys, tmp_path):
    common = ["--model=ganzoo.VanillaGAN", "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}"]
    data = ["--data=ganzoo.data.MNISTDataModule", f"--data.data_dir={SHARED_DATA}", "--data.image_size=16"]
    cli = GANZooCLI(args=[*common, *data], run=False)
    assert tuple(cli.model.hparams["data_shape"]) == (1, 16, 16)

    with pytest.raises(SystemExit) as info:
        main(["fit", *common, *data[:1], f"--data.data_dir={tmp_path}", "--max_g_steps=1"])
    assert info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganzoo: error:")]
    assert len(errors) == 1 and f"MNIST not found under '{tmp_path}'" in errors[0]


def save_image(path: Path, size: tuple[int, int], colour, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


def test_image_folder_flat_rgb(tmp_path):
    for i, size in enumerate([(20, 20), (40, 24), (24, 40), (30, 30), (18, 50), (64, 64)]):
        save_image(tmp_path / f"img{i}.png", size, RED)
    (tmp_path / "notes.txt").write_text("not an image")
    dm = ImageFolderDataModule(data_dir=str(tmp_path), image_size=16, batch_size=2, val_fraction=0.34, seed=1)
    assert dm.image_shape == dm.data_shape == (3, 16, 16) and dm.num_classes == 0 and dm.classes == []
    assert len(dm.files) == 6
    dm.setup("fit")
    assert (len(dm.splits["train"]), len(dm.splits["val"])) == (4, 2)
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (2, 3, 16, 16) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and labels.tolist() == [0, 0]
    assert (images[:, 0] == 1).all() and (images[:, 1:] == -1).all()  # pure red, channels in RGB order


def test_image_folder_class_subfolders_grayscale(tmp_path):
    save_image(tmp_path / "dog" / "a.PNG", (12, 12), 51, mode="L")
    save_image(tmp_path / "cat" / "b.png", (30, 20), 51, mode="L")
    save_image(tmp_path / "cat" / "c.bmp", (20, 30), RED)
    dm = ImageFolderDataModule(data_dir=str(tmp_path), image_size=8, channels=1, batch_size=1, val_fraction=0.0)
    assert dm.classes == ["cat", "dog"] and dm.num_classes == 2 and dm.image_shape == (1, 8, 8)
    dm.setup("fit")
    by_name = {Path(f).name: dm.splits["train"][i] for i, f in enumerate(dm.splits["train"].files)}
    assert [by_name[n][1] for n in ("a.PNG", "b.png", "c.bmp")] == [1, 0, 0]
    image = by_name["a.PNG"][0]
    assert image.shape == (1, 8, 8) and torch.allclose(image, torch.full_like(image, 51 / 127.5 - 1))

    save_image(tmp_path / "loose.jpg", (10, 10), BLUE)  # an image outside the class folders: no classes
    flat = ImageFolderDataModule(data_dir=str(tmp_path), image_size=8)
    assert flat.num_classes == 0 and flat.labels == [0, 0, 0, 0]


def test_image_folder_crop_and_resize_give_square_images(tmp_path):
    stripes = Image.new("RGB", (60, 20), RED)
    stripes.paste(GREEN, (20, 0, 40, 20))
    stripes.paste(BLUE, (40, 0, 60, 20))
    stripes.save(tmp_path / "stripes.png")

    resized_then_cropped = ImageFolderDataModule(data_dir=str(tmp_path), image_size=12, batch_size=1, val_fraction=0)
    resized_then_cropped.setup()
    image = resized_then_cropped.splits["train"][0][0]
    assert image.shape == (3, 12, 12)
    # 60x20 -> 36x12, centre 12x12: the green stripe, blurred only at its edge columns
    assert (image[1, :, 2:-2] == 1).all() and (image[[0, 2], :, 2:-2] == -1).all()

    cropped = ImageFolderDataModule(data_dir=str(tmp_path), image_size=12, crop_size=20, batch_size=1, val_fraction=0)
    cropped.setup()
    image = cropped.splits["train"][0][0]
    assert image.shape == (3, 12, 12) and (image[1] == 1).all() and (image[[0, 2]] == -1).all()


def test_image_folder_missing_or_empty_folder_fails_in_one_line(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match=f"image folder '{missing}' does not exist"):
        ImageFolderDataModule(data_dir=str(missing))
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(ConfigError, match=f"no images under '{tmp_path}'; data_dir must hold .png"):
        ImageFolderDataModule(data_dir=str(tmp_path))


def test_digits():
    dm = DigitsDataModule(batch_size=64)
    assert dm.image_shape == dm.data_shape == (1, 8, 8) and dm.num_classes == 10
    dm.setup("fit")
    train, val = dm.splits["train"], dm.splits["val"]
    assert (len(train), len(val)) == (1617, 180) and dm.splits["test"] is val
    assert train.images.dtype == torch.float32 and train.images.min() == -1 and train.images.max() == 1
    assert set(train.labels.tolist()) == set(range(10))
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (64, 1, 8, 8) and labels.dtype == torch.int64

    again, other = DigitsDataModule(), DigitsDataModule(seed=1)
    again.setup(), other.setup()
    assert torch.equal(again.splits["val"].images, val.images)  # seeded
    assert not torch.equal(other.splits["val"].images, val.images)

    big = DigitsDataModule(image_size=16)
    assert big.image_shape == (1, 16, 16)
    big.setup()
    images = next(iter(big.val_dataloader()))[0]
    assert images.shape == (128, 1, 16, 16) and -1 <= images.min() and images.max() <= 1


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: MNISTDataModule(batch_size=0), "batch_size must be a positive integer, got 0; e.g. batch_size=128"),
        (lambda: CIFAR10DataModule(image_size=-8), "image_size must be a positive integer, got -8"),
        (lambda: DigitsDataModule(num_workers=-1), "num_workers must be a non-negative integer, got -1"),
        (lambda: DigitsDataModule(val_fraction=1.0), "val_fraction must be a number in [0, 1), got 1.0"),
        (lambda: ImageFolderDataModule("x", channels=2), "channels must be 1 (grayscale) or 3 (RGB), got 2"),
        (lambda: ImageFolderDataModule("x", crop_size=0), "crop_size must be a positive integer, got 0"),
        (lambda: DigitsDataModule(batch_size=5000).setup(), "batch_size 5000 is larger than the 1617 training"),
    ],
    ids=["batch_size", "image_size", "num_workers", "val_fraction", "channels", "crop_size", "batch_size_vs_data"],
)
def test_bad_arguments_fail_with_one_line(build, message):
    with pytest.raises(ConfigError) as info:
        build()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_gan_trains_validates_and_predicts_on_digits(trainer_kwargs):
    dm = DigitsDataModule(batch_size=32)
    model = VanillaGAN(
        data_shape=dm.data_shape, latent_dim=4, g_hidden_dims=(16,), d_hidden_dims=(16,), output_activation="tanh"
    )
    trainer = pl.Trainer(**trainer_kwargs, max_epochs=-1, limit_val_batches=2, callbacks=[MaxGeneratorSteps(3)])
    trainer.fit(model, dm)
    assert model.g_steps == 3
    assert "val/d_loss" in trainer.validate(model, dm)[0]
    samples = torch.cat(trainer.predict(model, dm))
    assert samples.shape == (180, 1, 8, 8) and samples.abs().max() <= 1


@pytest.mark.slow
def test_the_digits_evaluator_does_not_depend_on_the_thread_count():
    """Its classifier is fitted on one BLAS thread: 1 and 2 threads give the same metrics."""
    import os
    import subprocess
    import sys

    script = (
        "import torch; from ganzoo import DigitsDataModule; "
        "x = torch.rand(500, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1; "
        "print(repr(DigitsDataModule().evaluate(x)['confidence']))"
    )
    values = []
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        values.append(float(result.stdout.strip().splitlines()[-1]))
    assert values[0] == pytest.approx(values[1], rel=1e-7, abs=0)


def test_a_checkpoint_naming_a_datamodule_by_its_data_images_path_still_rebuilds_it(tmp_path):
    """Checkpoints record their datamodule's class path (``ganzoo.data.images.DigitsDataModule``): the
    concrete datamodules stay in ganzoo.data.images whatever moves to ganzoo.data.image_base."""
    from ganzoo.commands.evaluate import load_datamodule

    checkpoint = {"state_dict": {}, "ganzoo_datamodule": "ganzoo.data.images.DigitsDataModule",
                  "datamodule_hyper_parameters": {"batch_size": 32, "image_size": 16, "seed": 3}}  # fmt: skip
    torch.save(checkpoint, tmp_path / "digits.ckpt")
    data = load_datamodule(str(tmp_path / "digits.ckpt"))
    assert isinstance(data, DigitsDataModule) and data.image_shape == (1, 16, 16) and data.seed == 3
