"""Callbacks: training length in generator steps, pictures and the run's report, image metrics, checkpoints."""
from ganzoo.callbacks.checkpoint import GANCheckpoint
from ganzoo.callbacks.monitor import DistributionMonitor
from ganzoo.callbacks.quality import ImageMetrics
from ganzoo.callbacks.progress import GANProgressBar
from ganzoo.callbacks.report import RunReport
from ganzoo.callbacks.samples import SampleGrid
from ganzoo.callbacks.steps import MaxGeneratorSteps

__all__ = [
    "DistributionMonitor",
    "GANCheckpoint",
    "GANProgressBar",
    "ImageMetrics",
    "MaxGeneratorSteps",
    "RunReport",
    "SampleGrid",
]
