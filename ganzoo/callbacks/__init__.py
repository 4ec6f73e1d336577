"""Callbacks: training length in generator steps, pictures and reports."""
from ganzoo.callbacks.monitor import DistributionMonitor
from ganzoo.callbacks.steps import MaxGeneratorSteps

__all__ = ["DistributionMonitor", "MaxGeneratorSteps"]
