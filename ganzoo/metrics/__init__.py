"""Metrics of generated distributions."""
from ganzoo.metrics.classifier import classifier_metrics
from ganzoo.metrics.toy import gaussian_1d_metrics, mode_coverage, wasserstein1_to_normal

__all__ = ["classifier_metrics", "gaussian_1d_metrics", "mode_coverage", "wasserstein1_to_normal"]
