"""Search spaces (``spaces/*.yaml``) validated against their codecs, and layout files."""
from .layout import LayoutFile, layout_file, load_layout, open_layout, space_reference
from .load import available_spaces, load_space, parse_space, ratio_width, space_path
from .model import Module, Space, SpaceLayer

__all__ = ["LayoutFile", "layout_file", "load_layout", "open_layout", "space_reference",
           "available_spaces", "load_space", "parse_space", "ratio_width", "space_path", "Module", "Space",
           "SpaceLayer"]
