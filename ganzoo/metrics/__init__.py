"""Metrics of generated distributions."""
from ganzoo.metrics.toy import gaussian_1d_metrics, mode_coverage, wasserstein1_to_normal

__all__ = ["gaussian_1d_metrics", "mode_coverage", "wasserstein1_to_normal"]
