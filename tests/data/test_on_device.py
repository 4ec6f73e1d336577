"""``on_device``: batches gathered by index are the DataLoader's batches; a set read per item is refused in one line."""
import pytest
import torch
from torch.utils.data import TensorDataset

from ganzoo.data.images import _LabelledImages
from ganzoo.data.resumable import IndexedBatches, training_loader
from ganzoo.errors import ConfigError


def test_gathered_batches_are_the_dataloaders_for_uint8_images_across_epochs():
    images = torch.randint(0, 256, (40, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    dataset = _LabelledImages(images, torch.arange(40) % 10)
    gathered, loaded = training_loader(dataset, 16, on_device=True), training_loader(dataset, 16)
    assert isinstance(gathered, IndexedBatches) and len(gathered) == len(loaded) == 2  # drop_last: 40 // 16
    for _ in range(2):  # each iteration is the next epoch, another permutation
        pairs = list(zip(gathered, loaded, strict=True))
        for (x, y), (x_1, y_1) in pairs:
            assert x.dtype == torch.float32 and torch.equal(x, x_1) and torch.equal(y, y_1)
    assert gathered.state_dict() == loaded.state_dict() and set(gathered.state_dict()) == {"seed"}  # what checkpoints keep


def test_a_dataset_without_tensors_in_memory_is_refused_in_one_line():
    with pytest.raises(ConfigError, match=r"on_device=True needs a training set held in memory.*set on_device: false"):
        training_loader(TensorDataset(torch.zeros(8, 2)), 4, on_device=True)
