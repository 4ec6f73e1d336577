"""Metrics of generated distributions: toy targets, FID/KID/IS (torchmetrics), domain classifiers,
precision/recall/density/coverage."""
from ganzoo.metrics.classifier import classifier_metrics
from ganzoo.metrics.evaluator import METRICS, ImageEvaluator, frechet_distance
from ganzoo.metrics.inception import find_inception_weights, save_random_inception_weights
from ganzoo.metrics.prdc import precision_recall_density_coverage
from ganzoo.metrics.intra_class import intra_class_fd
from ganzoo.metrics.memorisation import memorisation_scores, nearest_distances
from ganzoo.metrics.registry import register_metric
from ganzoo.metrics.toy import gaussian_1d_metrics, mode_coverage, wasserstein1_to_normal

__all__ = [
    "METRICS",
    "ImageEvaluator",
    "classifier_metrics",
    "find_inception_weights",
    "frechet_distance",
    "gaussian_1d_metrics",
    "intra_class_fd",
    "memorisation_scores",
    "mode_coverage",
    "precision_recall_density_coverage",
    "nearest_distances",
    "register_metric",
    "save_random_inception_weights",
    "wasserstein1_to_normal",
]
