"""Complexity: fvcore set up to count MACs, profiles of the full-width decoder, and the closed form."""
from .closed_form import Complexity
from .cost import Cost
from .fvcount import MacCount, count_decoder, count_module
from .profile import Profile, fvcore_macs, load_or_measure, measure_profile, profile_path

__all__ = ["Complexity", "Cost", "MacCount", "count_decoder", "count_module", "Profile", "fvcore_macs", "load_or_measure",
           "measure_profile", "profile_path"]
