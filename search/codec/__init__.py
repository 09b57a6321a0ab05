"""The codec base class, its contract (typed presets, provenance) and the registry that loads codec
files by name."""
from .base import Codec, DecoderView
from .contract import Preset, Provenance
from .parts import ExportPart, PartModule, make_part
from .registry import available_codecs, codec_file, codec_list, file_hash, load_codec, provenance_line

__all__ = ["Codec", "DecoderView", "ExportPart", "PartModule", "Preset", "Provenance", "make_part", "available_codecs", "codec_file", "codec_list",
           "file_hash", "load_codec", "provenance_line"]
