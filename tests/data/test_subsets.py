"""Training subsets and class filters of the image datamodules: counts, seeds, relabelling, bad values."""
import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo import ConfigError, DigitsDataModule, ImageFolderDataModule, MNISTDataModule
from ganzoo.cli import GANZooCLI
from ganzoo.data.stacked import StackedMNISTDataModule


def setup(dm):
    dm.setup("fit")
    return dm


def test_a_fraction_and_a_count_of_the_training_digits(mnist_dir):
    tenth = setup(MNISTDataModule(data_dir=str(mnist_dir), subset=0.01))
    assert len(tenth.splits["train"]) == 600 and len(tenth.splits["val"]) == 10_000  # val stays whole
    count = setup(MNISTDataModule(data_dir=str(mnist_dir), subset=600, subset_seed=1, batch_size=64))
    assert len(count.splits["train"]) == 600 and not torch.equal(count.train_indices, tenth.train_indices)
    full = setup(MNISTDataModule(data_dir=str(mnist_dir)))
    # the subset is those very images of the full training split, with their labels
    torch.testing.assert_close(tenth.splits["train"].images, full.splits["train"].images[tenth.train_indices])
    torch.testing.assert_close(tenth.splits["train"].labels, full.splits["train"].labels[tenth.train_indices])


def test_the_same_seed_draws_the_same_images_and_a_smaller_subset_lies_in_a_larger_one():
    a, b = setup(DigitsDataModule(subset=0.5, batch_size=16)), setup(DigitsDataModule(subset=0.5, batch_size=16))
    other = setup(DigitsDataModule(subset=0.5, subset_seed=1, batch_size=16))
    assert torch.equal(a.train_indices, b.train_indices) and not torch.equal(a.train_indices, other.train_indices)
    assert len(a.train_indices) == round(0.5 * 1617) and len(set(a.train_indices.tolist())) == len(a.train_indices)
    small = setup(DigitsDataModule(subset=100, batch_size=16))
    assert set(small.train_indices.tolist()) <= set(a.train_indices.tolist())


def test_a_class_filter_keeps_those_classes_in_every_split_renumbered_in_its_order():
    full = setup(DigitsDataModule())
    dm = setup(DigitsDataModule(classes=[7, 3]))
    assert dm.num_classes == 2 and dm.class_filter == [7, 3]
    train_labels = full.splits["train"].labels
    kept = (train_labels == 7) | (train_labels == 3)
    assert len(dm.splits["train"]) == int(kept.sum())
    # digit 7 is label 0, digit 3 label 1; the images are the same ones
    assert torch.equal(dm.splits["train"].labels, (train_labels[kept] == 3).long())
    torch.testing.assert_close(dm.splits["train"].images, full.splits["train"].images[kept])
    val = full.splits["val"].labels
    assert torch.equal(dm.splits["val"].labels, (val[(val == 7) | (val == 3)] == 3).long()) and dm.splits["test"] is dm.splits["val"]
    # the evaluator's classifier still knows all ten digits
    assert dm.evaluate(full.splits["val"].images[:50])["classes_covered"] > 2


def test_classes_and_subset_together_draw_from_the_kept_classes(mnist_dir):
    dm = setup(MNISTDataModule(data_dir=str(mnist_dir), classes=[0, 1], subset=300, batch_size=32))
    assert len(dm.splits["train"]) == 300 and set(dm.splits["train"].labels.tolist()) == {0, 1}
    full_labels = torch.as_tensor(MNISTDataModule(data_dir=str(mnist_dir))._dataset(True).targets)
    assert set(full_labels[dm.train_indices].tolist()) == {0, 1}


def test_a_conditional_model_gets_as_many_classes_as_the_filter_keeps(tmp_path):
    cli = GANZooCLI(args=["--config", "zoo_configs/cgan_digits.yaml", "--data.init_args.classes=[1, 2, 3]",
                          "--data.init_args.subset=0.2", f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false"],
                    run=False)  # fmt: skip
    assert cli.datamodule.num_classes == cli.model.num_classes == 3


def test_image_folder_classes_are_the_kept_subfolders(tmp_path):
    for name in ("ant", "bee", "cat"):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.fromarray(np.full((8, 8), i * 60, dtype=np.uint8), mode="L").save(tmp_path / name / f"{i}.png")
    dm = setup(ImageFolderDataModule(str(tmp_path), batch_size=2, image_size=8, channels=1, val_fraction=0.25,
                                     classes=[2, 0], subset=3))  # fmt: skip
    assert dm.classes == ["cat", "ant"] and dm.num_classes == 2 and len(dm.splits["train"]) == 3
    assert {f.parent.name for f in dm.splits["train"].files} <= {"cat", "ant"}
    assert all(label == ["cat", "ant"].index(f.parent.name) for f, label in zip(dm.splits["train"].files, dm.splits["train"].labels))


def test_stacked_mnist_draws_its_triples_from_the_subset_of_digits(mnist_dir):
    dm = setup(StackedMNISTDataModule(data_dir=str(mnist_dir), num_train=500, num_val=100, subset=50))
    assert len(dm.mnist.splits["train"]) == 50 and len(dm.splits["train"]) == 500
    pool = dm.mnist.splits["train"].images
    stacked = dm.splits["train"].images  # every channel is one of the 50 digits
    assert all(any(torch.equal(stacked[0, c], digit[0]) for digit in pool) for c in range(3))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"subset": 0}, "subset must be a number > 0, got 0"),
        ({"subset": -0.5}, "subset must be a number > 0"),
        ({"subset": 600.5}, "subset 600.5 is neither a fraction in (0, 1) nor a whole count"),
        ({"subset": 5000}, "subset 5000 is more than the 1617 training images of DigitsDataModule"),
        ({"subset": 10}, "batch_size 128 is larger than the 10 training images chosen by subset and classes"),
        ({"classes": [3, 10]}, "classes holds 10, not a class of DigitsDataModule, whose labels are 0..9"),
        ({"classes": [3, 3]}, "classes repeats a class of DigitsDataModule"),
        ({"classes": []}, "classes is empty for DigitsDataModule"),
        ({"subset_seed": -1}, "subset_seed must be a non-negative integer, got -1"),
    ],
)
def test_bad_values_are_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        setup(DigitsDataModule(**kwargs))


def test_classes_on_unlabelled_images_is_one_line(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    with pytest.raises(ConfigError, match=r"classes=\[0\] needs labelled images, and ImageFolderDataModule has none"):
        ImageFolderDataModule(str(tmp_path), classes=[0])
