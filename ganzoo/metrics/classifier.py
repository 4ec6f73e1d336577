"""Metrics of generated images from a classifier's class probabilities p(y | x).

With a classifier trained on the real data's labels (not ImageNet's), these say
whether samples look like the classes and whether every class is produced:

- ``classifier_score``: exp(E_x KL(p(y|x) || p(y))), the Inception Score's formula
  (Salimans et al. 2016) with a domain classifier; from 1 to K, high when each sample
  is clearly one class and the classes are balanced;
- ``confidence``: mean of max_y p(y|x);
- ``classes_covered``: classes that are the top prediction of at least one sample in 100
  of a balanced share (a class a G never makes, or makes once in 10,000, is not covered);
- ``class_kl``: KL(q || uniform) of the histogram q of top predictions (0 when balanced).
"""
from __future__ import annotations

import numpy as np


def classifier_metrics(probs: np.ndarray) -> dict[str, float]:
    """The metrics above from class probabilities ``(N, K)`` of N samples (rows sum to 1)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)
    n, k = p.shape
    marginal = p.mean(axis=0)
    score = float(np.exp((p * (np.log(p) - np.log(marginal))).sum(axis=1).mean()))
    counts = np.bincount(p.argmax(axis=1), minlength=k)
    share = counts / n
    nonzero = share > 0
    return {
        "classifier_score": score,
        "confidence": float(p.max(axis=1).mean()),
        "classes_covered": float((share >= 0.01 / k).sum()),
        "class_kl": float((share[nonzero] * np.log(share[nonzero] * k)).sum()),
    }
