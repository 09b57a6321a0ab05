"""``selector=gumbel``: cgSlimDecoder's mode selection. Sampling (Gumbel-softmax and its temperature),
the mode-selection module, the complexity vector's embedding, the supernet, its step and its entry."""
from .embedding import ComplexityEmbedding
from .entry import SELECTOR, train_gumbel
from .net import Supernet, tau_schedule
from .sampling import TauSchedule, gumbel_softmax_st
from .selection import ModeSelection, SampledComplexity, choices_for_codec, complexity_vector, sample
from .step import Stage2Step, SupernetLoss

__all__ = ["ComplexityEmbedding", "SELECTOR", "train_gumbel", "Supernet", "tau_schedule", "TauSchedule",
           "gumbel_softmax_st", "ModeSelection", "SampledComplexity", "choices_for_codec",
           "complexity_vector", "sample", "Stage2Step", "SupernetLoss"]
