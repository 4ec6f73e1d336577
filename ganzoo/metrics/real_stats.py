"""On-disk cache of real-image statistics, keyed by everything they depend on.

FID needs the mean and covariance of the real images' features, KID the features
themselves. Both depend on the dataset (its content, not its path), the split, how
many real images are used, the image size, the feature extractor (its weights, the
feature size, the resize). The cache key hashes all of these, so a second run with
the same protocol reads the file instead of pushing the real images through the
network again, and any change of protocol computes afresh.

Files are ``<cache dir>/<kind>-<key>.pt``: plain tensors written with ``torch.save``
and read with ``weights_only=True``; a file that fails to read is recomputed.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganzoo.viz import to_uint8


def default_cache_dir() -> Path:
    """``$GANZOO_CACHE/real_stats``, else ``~/.cache/ganzoo/real_stats``."""
    root = os.environ.get("GANZOO_CACHE") or Path.home() / ".cache" / "ganzoo"
    return Path(root).expanduser() / "real_stats"


def dataset_fingerprint(dataset: Dataset, probes: int = 16) -> str:
    """Length plus a hash of the bytes of a few images spread over the split.

    Cheap, and independent of where the data lies; it changes when the images,
    their size or their order change.
    """
    n = len(dataset)
    digest = hashlib.sha256(str(n).encode())
    for i in sorted({round(k * (n - 1) / max(probes - 1, 1)) for k in range(probes)}):
        image = dataset[i][0]
        digest.update(str(tuple(image.shape)).encode())
        digest.update(to_uint8(image).numpy().tobytes())
    return digest.hexdigest()[:20]


def cache_key(description: dict) -> str:
    """A short stable hash of a JSON-able description."""
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:24]


class RealStatsCache:
    """Reads and writes real statistics under ``cache_dir``; ``None`` disables the cache.

    Attributes:
        hits, misses: lookups answered from disk and lookups that were not.
    """

    def __init__(self, cache_dir: Optional[os.PathLike] = None, enabled: bool = True):
        self.dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def path(self, kind: str, description: dict) -> Path:
        return self.dir / f"{kind}-{cache_key(description)}.pt"

    def exists(self, kind: str, description: dict) -> bool:
        return self.enabled and self.path(kind, description).is_file()

    def load(self, kind: str, description: dict) -> Optional[dict[str, Tensor]]:
        """The stored tensors, or ``None`` (counted as a miss) when absent or unreadable."""
        path = self.path(kind, description)
        if not self.enabled or not path.is_file():
            self.misses += 1
            return None
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
            if stored.get("description") != json.dumps(description, sort_keys=True):
                raise ValueError("description differs from the key's")
        except Exception as err:  # a truncated or foreign file: recompute and overwrite
            warnings.warn(f"ignoring unreadable real-statistics cache {path} ({type(err).__name__}); recomputing")
            self.misses += 1
            return None
        self.hits += 1
        return {k: v for k, v in stored.items() if isinstance(v, Tensor)}

    def save(self, kind: str, description: dict, tensors: dict[str, Tensor]) -> Optional[Path]:
        """Writes atomically (a reader never sees half a file, a failed write leaves nothing); returns the
        path, or ``None`` (with a warning) when the file could not be written."""
        if not self.enabled:
            return None
        path = self.path(kind, description)
        payload = {k: v.detach().cpu() for k, v in tensors.items()}
        payload["description"] = json.dumps(description, sort_keys=True)
        from ganzoo.checkpoint_io import write_atomically  # here: it imports Lightning, which `evaluate --help` must not

        try:
            write_atomically(path, lambda file: torch.save(payload, file))
        except OSError as err:  # the cache only saves time: a failed write must not lose the metrics
            warnings.warn(
                f"ganzoo: could not write the real-statistics cache {path} ({err}); the metrics are not affected, "
                "but the statistics will be computed again next time: give a writable --cache_dir, or --no_cache",
                stacklevel=2,
            )
            return None
        return path
