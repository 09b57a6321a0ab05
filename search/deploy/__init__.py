"""Writing a codec's decoder parts as standalone models (ONNX, TorchScript, torch.export's .pt2),
loading them back to run, and timing them (``python -m search.export``)."""
from .formats import FORMATS, MIN_OPSET, Format, check_format, check_opset, load_runner, write_part
from .timing import median_seconds

__all__ = ["FORMATS", "MIN_OPSET", "Format", "check_format", "check_opset", "load_runner", "median_seconds", "write_part"]
