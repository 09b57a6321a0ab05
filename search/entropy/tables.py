"""Building the rANS coder tables of every entropy model of a model (after its weights change)."""
from __future__ import annotations

import torch.nn as nn
from compressai.entropy_models import EntropyModel, GaussianConditional

from .common import get_scale_table
from .factorized import BitEstimator
from .laplace import LaplaceConditional


def update_all(model: nn.Module, force: bool = False) -> None:
    """Build the coder tables of every entropy model in ``model``."""
    for module in model.modules():
        if isinstance(module, EntropyModel):
            if isinstance(module, (BitEstimator, LaplaceConditional)):
                module.update(force=force)
            elif isinstance(module, GaussianConditional):
                module.update_scale_table(get_scale_table(), force=force)
            else:
                module.update(force=force)
