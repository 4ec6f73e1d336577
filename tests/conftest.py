import logging
import os
import warnings

import matplotlib
import pytest
from helpers import SHARED_DATA

matplotlib.use("Agg")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
    logging.getLogger(name).setLevel(logging.ERROR)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")


@pytest.fixture
def trainer_kwargs(tmp_path):
    """A quiet CPU trainer that writes into the test's own directory."""
    return dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )


@pytest.fixture(autouse=True, scope="session")
def _private_ganzoo_cache(tmp_path_factory):
    """Real-image statistics go to a per-session folder, never to the user's ~/.cache."""
    os.environ["GANZOO_CACHE"] = str(tmp_path_factory.mktemp("ganzoo_cache"))


@pytest.fixture(scope="session")
def random_inception_weights(tmp_path_factory):
    """An InceptionV3 state dict with random (calibrated) weights: the real file cannot be downloaded here."""
    from ganzoo.metrics.inception import save_random_inception_weights

    return save_random_inception_weights(tmp_path_factory.mktemp("inception") / "random_inception.pth")


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder that holds MNIST in torchvision's layout (../shared/data); a test that needs it skips without it."""
    raw = SHARED_DATA / "MNIST" / "raw"
    if not raw.is_dir():
        pytest.skip(f"MNIST not found at {raw} (torchvision layout); see ../shared/data/README.md")
    return SHARED_DATA
