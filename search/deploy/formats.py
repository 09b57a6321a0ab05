"""The formats a decoder part is exported in, each written with its framework's intended exporter
and loaded back to run outside our code:

* ``onnx``: ``torch.onnx.export(..., dynamo=True)``, the exporter torch's documentation recommends
  (torch.export captures the graph, onnxscript translates it; it handles torchvision's deformable
  convolution as ONNX ``DeformConv`` and CompressAI's GDN as plain ops). Run with onnxruntime's CPU
  provider.
* ``torchscript``: ``torch.jit.trace`` of the graph ``torch.export`` captured. ``torch.jit.script``
  cannot compile our slimmable layers (their ``Widths`` bookkeeping is Python), and tracing the part
  directly records the GDNs' ``LowerBoundFunction`` (CompressAI's, a Python autograd Function) as a
  Python call that a saved TorchScript file cannot hold; torch.export inlines it into aten ops, which
  trace and save. The trace is fixed to the example inputs' shapes and control flow, which for these
  feed-forward decoders is all of it.
* ``pt2``: ``torch.export.export`` then ``torch.export.save`` (an ExportedProgram); loaded with
  ``torch.export.load(...).module()``.

All three are exported at the example inputs' shapes (the export resolution): export again for
another frame size.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..codec import ExportPart
from ..errors import BadInput

#: runs an exported part on tensors; returns its outputs as numpy arrays, in order
Runner = Callable[[Sequence[torch.Tensor]], list[np.ndarray]]


@dataclass(frozen=True)
class Format:
    """An export format: its file suffix, how it is written, and how it is run."""

    name: str
    suffix: str
    exporter: str
    runtime: str


FORMATS = {
    "onnx": Format("onnx", ".onnx", "torch.onnx.export(dynamo=True)", "onnxruntime (CPU provider)"),
    "torchscript": Format("torchscript", ".ts.pt", "torch.jit.trace of torch.export's graph",
                          "torch.jit.load"),
    "pt2": Format("pt2", ".pt2", "torch.export.export + torch.export.save", "torch.export.load"),
}


def check_format(name: str) -> Format:
    """The format named ``name``; one line naming the accepted ones otherwise."""
    if name not in FORMATS:
        raise BadInput(f"format={name!r}: not an export format; accepted: {', '.join(FORMATS)}")
    return FORMATS[name]


#: the lowest ONNX opset the parts export at: ONNX's DeformConv (FVC's alignment) is opset 19
MIN_OPSET = 19


def check_opset(opset: int) -> int:
    """``opset`` if ONNX parts can be written at it: from :data:`MIN_OPSET` to the newest the installed
    onnx package defines; one line otherwise."""
    import onnx  # imported here: only the onnx format needs it

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise BadInput(f"opset={opset}: the decoders export at ONNX opsets {MIN_OPSET} (DeformConv, "
                       f"FVC's alignment) to {newest} (the newest onnx {onnx.__version__} defines)")
    return opset


@contextlib.contextmanager
def _quiet():
    """The exporters print progress and warn about tracing; the export job reports instead."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def write_part(part: ExportPart, fmt: Format, path: Path, opset: int = 19) -> Path:
    """``part`` written to ``path`` in ``fmt``. A format the part refuses is one line (BadInput)."""
    if fmt.name in part.refused:
        raise BadInput(f"part {part.name!r} cannot be exported as {fmt.name}: {part.refused[fmt.name]}")
    args = tuple(part.inputs.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet(), torch.no_grad():
        if fmt.name == "onnx":
            torch.onnx.export(part.module, args, str(path), dynamo=True, opset_version=opset,
                              input_names=list(part.inputs), output_names=list(part.outputs),
                              external_data=False)
        elif fmt.name == "torchscript":
            graph = torch.export.export(part.module, args).module()
            torch.jit.trace(graph, args, check_trace=False).save(str(path))
        else:
            torch.export.save(torch.export.export(part.module, args), str(path))
    return path


def load_runner(fmt: Format, path: Path, input_names: Sequence[str], threads: int = 0) -> Runner:
    """A function running the exported file at ``path`` (``threads``: intra-op threads of
    onnxruntime; 0 its default; the torch formats use torch's setting)."""
    if fmt.name == "onnx":
        import onnxruntime as ort  # imported here: only the onnx format needs it

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return lambda tensors: session.run(None, {n: t.detach().cpu().numpy()
                                                  for n, t in zip(input_names, tensors)})
    with _quiet():  # torch.jit.load warns that TorchScript is deprecated (pt2 is its successor)
        module = torch.jit.load(str(path)) if fmt.name == "torchscript" else \
            torch.export.load(str(path)).module()

    def run(tensors: Sequence[torch.Tensor]) -> list[np.ndarray]:
        with torch.no_grad():
            out = module(*tensors)
        out = (out,) if isinstance(out, torch.Tensor) else out
        return [o.detach().cpu().numpy() for o in out]
    return run
