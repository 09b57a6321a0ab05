"""The exportable parts of a codec's decoder side: what ``python -m search.export`` writes.

A codec built at a layout (channels really removed, no masks) names its decoder's parts in
:meth:`~search.codec.Codec.export_parts`: the synthesis transform or frame decoder, the motion
decoder and compensation, the hyper decoders. Each part is a :class:`PartModule` that holds only the
codec's submodules it runs (so an exported file carries their weights alone) and runs one of the
codec's own decoder-side steps on them: the codec's method is called with the part in place of the
codec (``DVC.reconstruct(part, prediction, q_res)``), so the exported graph is the code that
``decode`` and ``decompress`` run, not a copy of it. Entropy decoding (CompressAI's rANS coders)
stays out of every part.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import torch
import torch.nn as nn

#: a decoder-side step: ``step(part, *inputs)`` returns a dict with (at least) the part's outputs,
#: a tuple in output order, or one tensor
Step = Callable[..., "Mapping[str, torch.Tensor] | tuple | torch.Tensor"]


class PartModule(nn.Module):
    """``step`` on the named submodules of a codec, returning the named outputs as a tuple."""

    def __init__(self, step: Step, modules: Mapping[str, nn.Module], outputs: Sequence[str],
                 codec: nn.Module | None = None):
        super().__init__()
        self.step, self.outputs = step, tuple(outputs)
        for name, module in modules.items():
            self.add_module(name, module)
        # not a submodule: plain values of the codec (constants, helpers) that its step reads from
        # ``self`` are looked up there; a module reached that way is not the part's, and the MAC
        # check of the codec contract fails on it
        object.__setattr__(self, "_codec", codec)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            codec = self.__dict__.get("_codec")
            if codec is None:
                raise
            return getattr(codec, name)

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.step(self, *tensors)
        if isinstance(out, torch.Tensor):
            return (out,)
        if isinstance(out, Mapping):
            return tuple(out[name] for name in self.outputs)
        return tuple(out)


@dataclass
class ExportPart:
    """One exportable part of a decoder: its module, example inputs (names in order, at the export
    resolution) and output names. ``kept_in_pytorch`` says why a part is not exported (DCVC's
    autoregressive context model runs symbol by symbol inside the entropy decoder); such a part is
    listed in the manifest with its MACs and runs in PyTorch."""

    name: str
    module: PartModule
    inputs: dict[str, torch.Tensor]
    outputs: tuple[str, ...]
    description: str = ""
    kept_in_pytorch: str = ""
    #: formats that cannot write this part, each with the reason (refused in one line)
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def submodules(self) -> list[str]:
        """The codec's top-level modules this part runs (its MACs are theirs)."""
        return [name for name, _ in self.module.named_children()]

    def run(self) -> tuple[torch.Tensor, ...]:
        """The part's outputs on its example inputs, in PyTorch."""
        with torch.no_grad():
            return self.module(*self.inputs.values())


def make_part(codec: nn.Module, name: str, step: Step, modules: Sequence[str],
              inputs: Mapping[str, torch.Tensor], outputs: Sequence[str], description: str = "",
              kept_in_pytorch: str = "") -> ExportPart:
    """A part of ``codec`` running ``step`` on its submodules ``modules`` (names of ``codec``'s
    attributes)."""
    module = PartModule(step, {m: getattr(codec, m) for m in modules}, outputs, codec).eval()
    return ExportPart(name, module, dict(inputs), tuple(outputs), description, kept_in_pytorch)
