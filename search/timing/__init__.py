"""Measured decode time: per-layer lookup tables of a space's decoders timed in context, calibrated
to whole-decoder time, and the latency model a search scores layouts with like the GMAC closed form
(``python -m search.latency``)."""
from .clock import DecoderTiming, measure_decoder_ms
from .measure import load_or_measure_latency, measure_latency
from .model import LatencyModel
from .settings import LatencySettings
from .table import LatencyTable, ModuleCells, latency_path

__all__ = ["DecoderTiming", "measure_decoder_ms", "load_or_measure_latency", "measure_latency",
           "LatencyModel", "LatencySettings", "LatencyTable", "ModuleCells", "latency_path"]
