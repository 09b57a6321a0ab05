"""Stage 2: from the stage-1 weights, one layout per GMAC target, landed exactly on it.

A *selector* finds the levels' widths (``selector=``): ``gumbel``, cgSlimDecoder's mode selection
under the complexity-guided penalty (:mod:`.gumbel`), or ``mask_decay``, EVC's mask decay
(:mod:`.mask_decay`). Every selector keeps the contract of :mod:`.protocol`, is registered by name in
:mod:`.registry`, trains through the shared loop of :mod:`.loop` and gives :class:`.levels.LevelResult`
levels landed by :mod:`.landing`.
"""
from .gumbel import (ComplexityEmbedding, ModeSelection, SampledComplexity, Stage2Step, Supernet,
                     SupernetLoss, TauSchedule, choices_for_codec, complexity_vector, gumbel_softmax_st,
                     sample, tau_schedule, train_gumbel)
from .landing import Landing, land
from .levels import LevelResult, check_targets
from .loop import run_stage2_loop, step_generator
from .protocol import Selector, Stage2Net
from .registry import SELECTORS, check_stage2, register_selector, selector_named, train_stage2

__all__ = ["ComplexityEmbedding", "ModeSelection", "SampledComplexity", "Stage2Step", "Supernet",
           "SupernetLoss", "TauSchedule", "choices_for_codec", "complexity_vector", "gumbel_softmax_st",
           "sample", "tau_schedule", "train_gumbel", "Landing", "land", "LevelResult", "check_targets",
           "run_stage2_loop", "step_generator", "Selector",
           "Stage2Net", "SELECTORS", "check_stage2", "register_selector", "selector_named",
           "train_stage2"]
