"""``selector=mask_decay``: EVC's mask decay, split as the Gumbel side is: the masks, the decay rule,
the step, the net it leaves and the entry (:mod:`.entry` says how it works)."""
from .decay import DecaySchedule, MaskDecay
from .entry import SELECTOR, check_settings, check_space, target_landing, train_mask_decay, uniform_factor
from .masks import ChannelMasks, MaskHooks, fold_masks, teacher_norms, unsupported
from .net import MaskDecayNet
from .step import MaskDecayLoss, MaskDecayStep

__all__ = ["DecaySchedule", "MaskDecay", "SELECTOR", "check_settings", "check_space", "target_landing",
           "train_mask_decay", "uniform_factor", "ChannelMasks", "MaskHooks", "fold_masks", "teacher_norms",
           "unsupported", "MaskDecayNet", "MaskDecayLoss", "MaskDecayStep"]
