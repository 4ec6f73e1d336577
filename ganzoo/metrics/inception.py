"""torch-fidelity's InceptionV3 (through torchmetrics), loaded offline and safely.

FID, IS and KID need the weights file ``weights-inception-2015-12-05-6726825d.pth``
(91 MB; the TensorFlow FID network converted by torch-fidelity). Nothing is
downloaded: :func:`find_inception_weights` looks at the path the user gives, then
at the torch hub cache, and otherwise fails with one line that says where to get
the file and where to put it. :func:`check_weights_file` opens the file with
``weights_only=True`` first, because torch-fidelity itself unpickles it with
``weights_only=False``, which would run any code a tampered file carries.
"""
from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Optional, Union

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ganzoo import compat
from ganzoo.errors import ConfigError

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"
#: Inception feature sizes torchmetrics offers; 2048 (the pool features) is the FID of the papers.
FEATURE_SIZES = (64, 192, 768, 2048)
#: length of the ``logits_unbiased`` vector (1008 classes, no bias) the Inception Score uses.
NUM_LOGITS = 1008


def torch_cache_path() -> Path:
    """Where torch's hub cache keeps the file: ``$TORCH_HOME/hub/checkpoints/`` (``~/.cache/torch`` by default)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def find_inception_weights(path: Optional[Union[str, Path]] = None) -> Path:
    """The weights file: ``path`` (a file, or a folder holding it), else the torch hub cache.

    Raises:
        ConfigError: one line naming the file, the places looked at, its URL and
            how to train without these metrics.
    """
    if path is not None:
        given = Path(path).expanduser()
        candidate = given / INCEPTION_FILE if given.is_dir() else given
        if candidate.is_file():
            return candidate
        where = f"inception_weights={str(path)!r} (no such file)"
        put = f"put it at {candidate}"
    else:
        candidate = torch_cache_path()
        if candidate.is_file():
            return candidate
        where = f"the torch cache {candidate} (and no inception_weights path was given)"
        put = f"put it at {candidate} or pass inception_weights=PATH"
    raise ConfigError(
        f"InceptionV3 weights for FID/IS/KID not found in {where}; download {INCEPTION_URL} (91 MB) on a "
        f"machine with internet and {put}, or leave fid, is, kid and prdc out of the metrics to go on without them"
    )


def check_weights_file(path: Union[str, Path]) -> None:
    """Refuses, with one line, a file that is not a plain InceptionV3 state dict.

    ``torch.load(weights_only=True)`` only rebuilds tensors and plain containers; a file
    that needs any other pickled object (which could run arbitrary code) fails it.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, EOFError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"refusing InceptionV3 weights file '{path}': it does not load with torch.load(weights_only=True) "
            f"({reason[:160]}), so it may carry arbitrary code; use the official file {INCEPTION_URL}"
        ) from err
    fc = state.get("fc.weight") if isinstance(state, dict) else None
    if not isinstance(fc, Tensor) or tuple(fc.shape) != (NUM_LOGITS, 2048):
        raise ConfigError(
            f"'{path}' is not an InceptionV3 state dict (no fc.weight of shape (1008, 2048)); "
            f"use the official file {INCEPTION_URL}"
        )


def file_id(path: Union[str, Path]) -> str:
    """A cheap identity of a weights file (name, size, hash of its first MiB) for cache keys."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = hashlib.sha256(handle.read(1 << 20)).hexdigest()[:16]
    return f"{path.name}:{path.stat().st_size}:{head}"


class InceptionFeatures(nn.Module):
    """torchmetrics' InceptionV3 (torch-fidelity's network) giving both FID/KID and IS features in one pass.

    Args:
        weights: the weights file; checked with :func:`check_weights_file` before
            torch-fidelity loads it.
        feature: pool feature size for FID and KID: 64, 192, 768 or 2048.
        antialias: resize to 299 px with antialiased bilinear interpolation (torchmetrics'
            default since 1.8) instead of the TensorFlow 1.x bilinear of the original FID
            code and of torch-fidelity (``False``, which keeps numbers comparable with papers).
    """

    def __init__(self, weights: Union[str, Path], feature: int = 2048, antialias: bool = False, logits: bool = True):
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        if feature not in FEATURE_SIZES:
            raise ConfigError(f"feature {feature!r} is not an InceptionV3 feature size; choose one of {FEATURE_SIZES}")
        check_weights_file(weights)
        self.num_features = feature
        self.weights_id = file_id(weights)
        self.antialias = antialias
        self.logits = logits
        self.net = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=[str(feature)] + (["logits_unbiased"] if logits else []),
            feature_extractor_weights_path=str(weights),
            antialias=antialias,
        )

    def forward(self, images: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        """Pool features ``(N, feature)`` and unbiased logits ``(N, 1008)`` (or None) of uint8 images ``(N, 3, H, W)``."""
        out = compat.inception_features(self.net, images)
        logits = out[1].reshape(len(images), -1) if self.logits else None
        return out[0].reshape(len(images), -1), logits

    def describe(self) -> dict:
        """What a result depends on, for protocols and cache keys."""
        return {
            "extractor": "inception-v3-compat (torch-fidelity via torchmetrics)",
            "weights": self.weights_id,
            "feature": self.num_features,
            "resize": "299 px, " + ("antialiased bilinear" if self.antialias else "TensorFlow 1.x bilinear"),
            "antialias": self.antialias,
        }


@torch.no_grad()
def save_random_inception_weights(path: Union[str, Path], seed: int = 0, images: int = 8) -> Path:
    """Writes an InceptionV3 state dict with random weights, for tests and benchmarks only.

    The numbers it gives are not comparable with anything published. Its BatchNorm
    statistics are measured on random images so that every layer's activations keep
    unit scale (the features are not degenerate), and its classifier is scaled so the
    logits spread over a few units (the Inception Score is not stuck at 1).
    """
    from unittest import mock

    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    torch.manual_seed(seed)
    with mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None), mock.patch(
        "torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", lambda *a, **k: {}
    ):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    batchnorms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in batchnorms:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average over the calibration batch
    # noise at several brightness levels and smooth blobs, grey and colour: activations of
    # photos and of small generated images both stay in range
    rng = torch.Generator().manual_seed(seed)
    noise = torch.rand(images, 3, 32, 32, generator=rng) * torch.linspace(0.2, 1.0, images).view(-1, 1, 1, 1)
    blobs = F.interpolate(torch.rand(images, 3, 4, 4, generator=rng), size=(32, 32), mode="bilinear")
    blobs[: images // 2] = blobs[: images // 2, :1]
    calibration = (torch.cat([noise, blobs]) * 255).round().to(torch.uint8)
    net.train(True)
    net(calibration)
    net.train(False)
    pool, _ = net(calibration)
    # logits from the samples' deviations only (the shared mean would pick one class for all),
    # spread over a few units
    mean = pool.mean(0, keepdim=True)
    weight = net.fc.weight - (net.fc.weight @ mean.T) @ mean / mean.square().sum()
    logits = pool @ weight.T
    net.fc.weight.copy_(weight * 2.0 / logits.std().clamp_min(1e-12))
    state = {k: v.clone() for k, v in net.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def resolve_inception(
    path: Optional[Union[str, Path]], feature: int = 2048, antialias: bool = False, logits: bool = True
) -> InceptionFeatures:
    """:class:`InceptionFeatures` from the file :func:`find_inception_weights` finds."""
    return InceptionFeatures(find_inception_weights(path), feature=feature, antialias=antialias, logits=logits)

