"""A Stacked MNIST run's checkpoint names its datamodule, and ``ganzoo evaluate`` rebuilds it."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]

#: run in a fresh interpreter: the test session may already have imported ganzoo.data.stacked
LOAD = """
import sys
import ganzoo
from ganzoo.evaluate import load_datamodule
data = load_datamodule(sys.argv[1])
print(type(data).__name__, data.num_train, data.seed, data.image_shape)
"""


@pytest.mark.slow  # starts a fresh interpreter
def test_evaluate_rebuilds_stacked_mnist_after_only_import_ganzoo(tmp_path):
    """Loading a checkpoint imports nothing, so the class must be reachable from ``import ganzoo``."""
    checkpoint = {"state_dict": {}, "ganzoo_datamodule": "ganzoo.data.stacked.StackedMNISTDataModule",
                  "datamodule_hyper_parameters": {"data_dir": "data", "batch_size": 64, "num_train": 123, "seed": 4}}  # fmt: skip
    torch.save(checkpoint, tmp_path / "stacked.ckpt")
    result = subprocess.run([sys.executable, "-c", LOAD, str(tmp_path / "stacked.ckpt")], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": ""})  # fmt: skip
    assert result.returncode == 0, result.stderr[-1000:]
    assert result.stdout.split("\n")[-2] == "StackedMNISTDataModule 123 4 (3, 28, 28)"
