"""cgSlimDecoder stage 2: Gumbel-softmax mode selection under the complexity-guided penalty, exact
landing of each level on its GMAC target, and the supernet training; or EVC's mask decay
(``selector=mask_decay``)."""
from .embedding import ComplexityEmbedding
from .gumbel import TauSchedule, gumbel_softmax_st
from .landing import Landing, land
from .selection import ModeSelection, SampledComplexity, choices_for_codec, complexity_vector, sample
from .stage2 import (LevelResult, Stage2Step, Supernet, SupernetLoss, check_targets, step_generator,
                     tau_schedule, train_supernet)
from .mask_decay import MaskDecayNet, check_mask_decay, train_mask_decay

__all__ = ["ComplexityEmbedding", "TauSchedule", "gumbel_softmax_st", "Landing", "land", "ModeSelection", "SampledComplexity",
           "choices_for_codec", "complexity_vector", "sample", "LevelResult", "Stage2Step", "Supernet",
           "SupernetLoss", "check_targets", "step_generator", "tau_schedule", "train_supernet",
           "MaskDecayNet", "check_mask_decay", "train_mask_decay"]
