"""The codec base class and the registry that loads codec files by name."""
from .base import Codec, DecoderView
from .registry import available_codecs, codec_file, file_hash, load_codec

__all__ = ["Codec", "DecoderView", "available_codecs", "codec_file", "file_hash", "load_codec"]
