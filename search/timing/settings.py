"""How decode time is measured: device, runtime, threads, precision and how many runs.

The settings are part of a latency table's identity (a table measured on 1 thread says nothing about
8), so they are checked once, before any measurement, with one-line errors (:class:`BadInput`, a
ValueError), and the non-default ones are written into the table's file name (:meth:`file_tag`).
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import asdict, dataclass
from typing import Iterator

import torch

from ..errors import BadInput
from .allocator import steady_allocator

RUNTIMES = ("torch", "onnxruntime")
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
_CUDA = re.compile(r"cuda(?::(\d+))?")


@dataclass(frozen=True)
class LatencySettings:
    """Where and how decoders are timed. ``threads=None`` leaves torch's default; ``layouts`` is the
    number of held-out random layouts the prediction is checked on (the design set adds the uniform
    layouts and ``layouts // 2`` random ones); ``repeats`` timed runs after ``warmup`` untimed ones."""

    device: str = "cpu"
    runtime: str = "torch"
    threads: int | None = None
    precision: str = "fp32"
    repeats: int = 5
    warmup: int = 2
    layouts: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        _check_device(self.device)
        if self.runtime not in RUNTIMES:
            raise BadInput(f"runtime={self.runtime!r}: expected one of {', '.join(RUNTIMES)}")
        if self.runtime == "onnxruntime":
            raise BadInput("runtime=onnxruntime: the latency table is measured in torch only; time an "
                           "exported decoder with python -m search.export layout=L.yaml format=onnx "
                           "threads=1")
        if self.precision not in PRECISIONS:
            raise BadInput(f"precision={self.precision!r}: expected one of {', '.join(PRECISIONS)}")
        if self.threads is not None and (not _is_int(self.threads) or self.threads < 1):
            raise BadInput(f"threads={self.threads!r}: expected a positive integer (or leave it out "
                           f"for torch's default)")
        for name, low in (("repeats", 1), ("warmup", 0), ("layouts", 2)):
            value = getattr(self, name)
            if not _is_int(value) or value < low:
                raise BadInput(f"{name}={value!r}: expected an integer of at least {low}")
        if not _is_int(self.seed):
            raise BadInput(f"seed={self.seed!r}: expected an integer")

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    @property
    def dtype(self) -> torch.dtype:
        return PRECISIONS[self.precision]

    def file_tag(self) -> str:
        """The settings in a table's file name: the device (``cuda:1`` as ``cuda1``), then only what
        differs from the defaults: ``t<threads>``, the precision, the runtime
        (``cpu``, ``cpu.t1``, ``cuda.fp16``)."""
        parts = [self.device.replace(":", "")]
        if self.threads is not None:
            parts.append(f"t{self.threads}")
        if self.precision != "fp32":
            parts.append(self.precision)
        if self.runtime != "torch":
            parts.append(self.runtime)
        return ".".join(parts)

    def as_dict(self) -> dict:
        return asdict(self)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_device(device: str) -> None:
    """cpu, cuda or cuda:N where this machine has that GPU; one line otherwise."""
    if device == "cpu":
        return
    match = _CUDA.fullmatch(str(device))
    if not match:
        raise BadInput(f"device={device!r}: expected cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise BadInput(f"device={device}: torch sees no CUDA GPU on this machine (torch "
                       f"{torch.__version__}); use device=cpu")
    index, count = int(match[1] or 0), torch.cuda.device_count()
    if index >= count:
        raise BadInput(f"device={device}: GPU {index} asked for, this machine has {count}")


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """The conditions decoders are timed in: torch's intra-op threads set to ``threads`` for the
    duration (None: left as they are), then restored (timing on 1 thread must not leave the caller's
    process on 1 thread); and the allocator made steady (:mod:`search.timing.allocator`)."""
    steady_allocator()
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
