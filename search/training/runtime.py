"""Where and how training computes: the device, mixed precision, torch.compile and several processes.

The one place both training stages (:mod:`search.training.stage1`, :mod:`search.stage2`) take
these from:

* **device**: ``auto`` (CUDA when torch sees a GPU, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.
  Under ``torchrun`` each process takes the GPU of its ``LOCAL_RANK``.
* **precision**: ``fp32`` (TF32 off: true fp32 convolutions and matrix products on GPUs that would
  otherwise use TF32), ``tf32`` (TF32 on, an explicit choice), or ``bf16`` / ``fp16`` autocast around
  the codec's forward pass, so that its convolutions run in the reduced type while quantisation, the
  entropy models and the likelihoods stay fp32: the networks that compute the entropy models'
  parameters (hyper encoders and decoders, priors, context models: :data:`ENTROPY_MODULES`) run with
  autocast off on fp32 inputs, as CompressAI's entropy models are kept, so that rates never come from
  half-precision scales; the loss is computed in fp32; ``fp16`` scales the loss with a GradScaler.
  CompressAI's rANS coders are untouched: they run on the CPU, where CompressAI runs them.
* **compile**: ``torch.compile`` around the module that computes the loss.
* **several processes**: under ``torchrun`` (``WORLD_SIZE > 1``) a process group (NCCL on GPUs, gloo on
  the CPU) and DistributedDataParallel around the loss module. The configured batch is the global one:
  process ``r`` of ``n`` takes its ``r``-th ``batch / n`` of each step's samples
  (:func:`search.data.rank_indices`), gradients are averaged, and rank 0 alone writes.
"""
from __future__ import annotations

import atexit
import dataclasses
import os
import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..config import RuntimeConfig
from ..errors import BadInput

DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
#: names of a codec's modules that compute entropy-model parameters, kept in fp32 under autocast: the
#: public codes' hyper encoders and decoders, priors and context models (DVC ``respriorDecoder``, FVC
#: ``resPriorDecoder``, DCVC ``entropy_parameters`` and ``auto_regressive``, SlimVC ``SlimHE``,
#: ``SlimHD``, ``SlimTPM``, ``SlimEPM``)
ENTROPY_MODULES = re.compile(r"prior|hyper|entropy_param|auto_regress|^Slim(HE|HD|TPM|EPM)$", re.IGNORECASE)


def _enter_fp32(module: torch.nn.Module, args: tuple) -> tuple | None:
    device = next((a.device.type for a in args if isinstance(a, torch.Tensor)), "cpu")
    if not torch.is_autocast_enabled(device):
        module._fp32_contexts.append(None)
        return None
    context = torch.autocast(device, enabled=False)
    context.__enter__()
    module._fp32_contexts.append(context)
    return tuple(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)


def _leave_fp32(module: torch.nn.Module, args: tuple, output):
    context = module._fp32_contexts.pop()
    if context is not None:
        context.__exit__(None, None, None)
    return output


def keep_entropy_fp32(model: torch.nn.Module) -> list[str]:
    """Hooks that run every module of ``model`` named like an entropy-parameter network
    (:data:`ENTROPY_MODULES`) with autocast off, on fp32 inputs; the names hooked (once each)."""
    hooked = []
    for parent_name, parent in model.named_modules():
        for name, child in parent.named_children():
            if ENTROPY_MODULES.search(name) and not hasattr(child, "_fp32_contexts"):
                child._fp32_contexts = []
                child.register_forward_pre_hook(_enter_fp32)
                child.register_forward_hook(_leave_fp32)
                hooked.append(f"{parent_name}.{name}" if parent_name else name)
    return hooked
_CUDA = re.compile(r"cuda(?::(\d+))?")


def derived_seed(*words: int) -> int:
    """A 32-bit seed from integers through numpy's SeedSequence (well mixed, the same everywhere)."""
    return int(np.random.SeedSequence([int(w) for w in words]).generate_state(1)[0])


def parse_device(text: str, local_rank: int | None = None) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` as a device this machine has; ``local_rank`` (under
    torchrun) picks the GPU of ``auto`` and ``cuda``. Anything else is one line (BadInput)."""
    name = str(text).strip().lower()
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    match = _CUDA.fullmatch(name)
    if name != "auto" and not match:
        raise BadInput(f"device={text!r}: expected auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise BadInput(f"device={text}: torch sees no CUDA GPU on this machine (torch "
                       f"{torch.__version__}); use device=cpu, or device=auto to take a GPU when present")
    if match and match[1] is not None and local_rank is not None:
        raise BadInput(f"device={text} names one GPU, but torchrun started several processes: give "
                       f"device=cuda (each process takes the GPU of its LOCAL_RANK)")
    index = int(match[1]) if match and match[1] is not None else (local_rank or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise BadInput(f"device={text}: GPU {index} asked for, this machine has {count} "
                       f"(cuda:0 .. cuda:{count - 1})")
    return torch.device("cuda", index)


@dataclass(frozen=True)
class Runtime:
    """The device, the arithmetic, torch.compile, data workers and this process's place in a
    distributed run (rank ``rank`` of ``world``); the default is one process, fp32, on the CPU."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: str = "fp32"
    compile: bool = False
    workers: int = 0
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints, logs and config.yaml."""
        return self.rank == 0

    def alone(self) -> "Runtime":
        """This runtime for work rank 0 does by itself after a distributed stage (fine-tuning in the
        outer loop's verdict): same device and arithmetic, no process group."""
        return dataclasses.replace(self, rank=0, world=1)

    @property
    def pin_memory(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self) -> AbstractContextManager:
        """The codec's forward pass's autocast (none in fp32 and tf32)."""
        if self.precision in ("fp32", "tf32"):
            return nullcontext()
        return torch.autocast(self.device.type, dtype=DTYPES[self.precision])

    def grad_scaler(self) -> torch.amp.GradScaler:
        """Loss scaling for fp16 (fp16's range would flush small gradients to zero); a no-op otherwise."""
        return torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` (already on the device) as the training step calls it: in DDP across processes,
        compiled with ``compile``. Its own parameters stay what checkpoints save. Under autocast, its
        entropy-parameter networks keep fp32 (:func:`keep_entropy_fp32`)."""
        if self.precision in ("bf16", "fp16"):
            keep_entropy_fp32(module)
        if self.world > 1:
            # find_unused_parameters: a codec may hold parameters a forward pass does not use (SlimVC's
            # switchable GDNs of other widths); broadcast_buffers off: codec buffers are constants
            module = DistributedDataParallel(
                module, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                broadcast_buffers=False, find_unused_parameters=True)
        return torch.compile(module) if self.compile else module

    def local_batch(self, batch: int) -> int:
        """This process's share of the global ``batch``."""
        if batch % self.world:
            raise BadInput(f"batch={batch} does not split over {self.world} processes: give a multiple "
                           f"of {self.world} (batch= is the global batch of all processes)")
        return batch // self.world

    def seed_process(self, seed: int) -> None:
        """Seed torch's global generators for this process (distinct per rank). Training draws nothing
        from them (samples, quantisation noise and stage 2's choices have seeds of their own); they
        serve whatever else a codec might draw."""
        torch.manual_seed(derived_seed(seed, self.rank, 4))

    def mean(self, values: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each (scalar) value averaged over the processes: the global batch's figures."""
        if self.world == 1:
            return dict(values)
        names = list(values)
        stacked = torch.stack([values[n].detach().float() for n in names])
        dist.all_reduce(stacked)
        return dict(zip(names, stacked / self.world))

    def any(self, flag: bool) -> bool:
        """True on every process when it is true on one (a time limit read off one clock stops all)."""
        if self.world == 1:
            return flag
        value = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def barrier(self) -> None:
        """Wait for every process (e.g. until rank 0 has written the last checkpoint)."""
        if self.world > 1:
            if self.device.type == "cuda":
                dist.barrier(device_ids=[self.device.index])
            else:
                dist.barrier()


def start_runtime(cfg: RuntimeConfig, distributed: bool = True) -> Runtime:
    """The runtime of ``cfg`` on this machine; under ``torchrun`` (``distributed``) this process joins
    the process group: NCCL on GPUs, gloo on the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1")) if distributed else 1
    rank = int(os.environ.get("RANK", "0")) if world > 1 else 0
    local_rank = int(os.environ.get("LOCAL_RANK", "0")) if world > 1 else None
    device = parse_device(cfg.device, local_rank)
    if cfg.precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise BadInput(f"precision=bf16: {torch.cuda.get_device_name(device)} has no bf16; use "
                       f"precision=fp16 or fp32")
    set_tf32(cfg.precision == "tf32")
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(_leave_process_group)
    return Runtime(device, cfg.precision, bool(cfg.compile), int(cfg.workers), rank, world)


def set_tf32(enabled: bool) -> None:
    """TF32 for CUDA matrix products and cuDNN convolutions: on only for ``precision=tf32`` (torch's
    defaults would otherwise turn it on for convolutions on recent GPUs, so that fp32 were not fp32)."""
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def _leave_process_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def optimizer_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                   clipped: Iterable[torch.nn.Parameter], max_norm: float = 1.0) -> None:
    """Backward, gradients of ``clipped`` clipped at ``max_norm`` (unscaled first), optimizer step.
    With a disabled scaler (fp32, bf16) this is the plain backward, clip and step."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(list(clipped), max_norm)
    scaler.step(optimizer)
    scaler.update()
