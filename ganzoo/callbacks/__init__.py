"""Callbacks: training length in generator steps, pictures and reports, checkpoints."""
from ganzoo.callbacks.checkpoint import GANCheckpoint
from ganzoo.callbacks.monitor import DistributionMonitor
from ganzoo.callbacks.samples import SampleGrid
from ganzoo.callbacks.steps import MaxGeneratorSteps

__all__ = ["DistributionMonitor", "GANCheckpoint", "MaxGeneratorSteps", "SampleGrid"]
