"""Entropy models on CompressAI, with the parameter names of the public DVC/FVC/DCVC code.

Rates in training come from the likelihoods (``-log2 p``); evaluation can report real bitstream sizes
from ``compress``. Call :func:`update_all` after loading weights, before ``compress``.
"""
from .common import SampleNoise, bits, get_scale_table, quantize, sample_noise
from .factorized import BitEstimator, Bitparm
from .gaussian import MeanGaussianConditional
from .laplace import LaplaceConditional
from .switchable import SwitchableBitEstimator
from .tables import update_all

__all__ = ["BitEstimator", "Bitparm", "LaplaceConditional", "MeanGaussianConditional", "SampleNoise",
           "SwitchableBitEstimator", "bits", "get_scale_table", "quantize", "sample_noise", "update_all"]
