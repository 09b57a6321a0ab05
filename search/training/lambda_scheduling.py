"""SlimCAE's lambda-scheduling (Yang et al., "Slimmable Compressive Autoencoders for Practical Neural
Image Compression", CVPR 2021, section 4.3 and Algorithm 1): train the K sub-CAEs of a slimmable image
codec jointly (Eq. 3, the multi-RD loss) while the per-width lambdas are moved so that each sub-CAE
settles at its own RD tradeoff.

The sub-CAEs are layouts of one full-width codec, run through its channel masks
(:meth:`search.codec.Codec.at_layout`, equal to the sliced sub-model), listed from the smallest
(k = 1) to the largest (k = K) as the paper indexes them. One training step sums
``R^(k) + lambda^(k) * MSE^(k)`` (:func:`search.training.rd.rd_loss`) over the K sub-CAEs.

Algorithm 1, as implemented:

1. ``Lambda_0 = [lambda^(K)] * K`` and the naive joint training (``naive_steps``; 0 when the codec comes
   trained), then the RD points of all sub-CAEs on the validation batches (line 3).
2. For ``i = K-1 .. 1`` (the pair of sub-CAEs i, i+1), for at most ``M`` rounds: multiply
   ``lambda^(1..i)`` by ``kappa`` (line 8), train ``T`` steps (lines 9-11), evaluate; if
   ``R^(i+1) < R^(i)`` go on to the next round (line 12); otherwise compute the slope
   ``xi = (D^(i+1) - D^(i)) / (R^(i+1) - R^(i))`` and stop the pair when it grew over the previous
   round's (lines 16-18).

Lambdas and kappa. The paper writes the loss ``D + lambda R`` with ``kappa > 1``; its implementation
(footnote 7) optimises ``lambda D + R`` and uses ``kappa = 0.8`` (section 5.1: T = 2000, M = 7), which
is this project's ``R + lambda D``: ``kappa`` here multiplies our lambdas, 0.8 by default (the paper's
Eq. 1 lambda is ``1 / lambda_ours``, its kappa ``1 / kappa_ours``). Distortion: MSE in training, PSNR
when scheduling (section 5.1: "We measure distortion as MSE during training and as PSNR during
lambda-scheduling"), so ``D`` in the slope is the PSNR in dB and the rate is bpp, and a slope that
"does not decrease anymore" is one above the previous round's.

Where Algorithm 1 is silent or ambiguous, as the public SlimCAE code (FireFYF/SlimCAE, TensorFlow) does:
the first round of a new pair compares its slope with that pair's slope before its rounds (line 4's
``xi_0`` for ``i = K-1``), not with the previous pair's; a round that skipped the slope (line 12) keeps the
previous reference.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import torch

from ..codec import Codec
from .rd import rd_loss


@dataclass(frozen=True)
class LambdaScheduling:
    """Algorithm 1's hyper-parameters: ``kappa`` (multiplies our lambdas of ``R + lambda D``),
    ``steps_per_round`` (T), ``max_rounds`` (M) and the naive training before it (line 2)."""

    kappa: float = 0.8
    steps_per_round: int = 2000
    max_rounds: int = 7
    naive_steps: int = 0

    def __post_init__(self):
        if not 0 < self.kappa < 1:
            raise ValueError(f"kappa={self.kappa}: expected 0 < kappa < 1 (it scales the lambda of "
                             f"R + lambda D down; the paper's D + lambda R uses 1 / kappa)")
        if self.steps_per_round < 1 or self.max_rounds < 1 or self.naive_steps < 0:
            raise ValueError("steps_per_round and max_rounds must be >= 1, naive_steps >= 0")


@dataclass(frozen=True)
class RDPoint:
    """A sub-CAE's rate (bpp) and distortion (MSE, and its PSNR in dB) on the validation batches."""

    bpp: float
    mse: float

    @property
    def psnr(self) -> float:
        return 10 * math.log10(1 / max(self.mse, 1e-12))


@dataclass
class Round:
    """One round of Algorithm 1 (lines 8-20) for the pair (i, i+1), 1-based as in the paper."""

    pair: int
    round: int
    step: int                 # steps trained so far (t)
    lambdas: list[float]      # the lambdas this round trained with
    points: list[RDPoint]     # after the round, smallest sub-CAE first
    slope: float | None       # xi_t; None when R^(i+1) < R^(i) (line 12)
    stop: bool                # the slope grew: lambda^(i) is fixed (line 18)


@dataclass
class ScheduleResult:
    lambdas: list[float]
    initial_points: list[RDPoint]
    rounds: list[Round] = field(default_factory=list)
    steps: int = 0


def slope(points: Sequence[RDPoint], i: int) -> float | None:
    """``xi = (PSNR^(i+1) - PSNR^(i)) / (R^(i+1) - R^(i))`` for the 1-based pair i, or None when the larger
    sub-CAE codes at a lower rate than the smaller one (Algorithm 1, line 12: no slope, continue)."""
    small, large = points[i - 1], points[i]
    if large.bpp <= small.bpp:
        return None
    return (large.psnr - small.psnr) / (large.bpp - small.bpp)


def decide(points: Sequence[RDPoint], i: int, reference: float | None) -> tuple[float | None, bool]:
    """One round's decision (lines 12-18): the slope, and whether the pair stops (its slope grew)."""
    xi = slope(points, i)
    return xi, xi is not None and reference is not None and xi > reference


def scaled(lambdas: Sequence[float], i: int, kappa: float) -> list[float]:
    """Line 8: ``[kappa lambda^(1), ..., kappa lambda^(i), lambda^(i+1), ..., lambda^(K)]``."""
    return [lam * kappa if k < i else lam for k, lam in enumerate(lambdas)]


def joint_step(codec: Codec, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               layouts: Sequence[Mapping[str, int]], lambdas: Sequence[float]) -> float:
    """One SGD step on the multi-RD loss (Eq. 3): ``sum_k R^(k) + lambda^(k) MSE^(k)``."""
    codec.train()
    optimizer.zero_grad()
    total = 0.0
    for layout, lmbda in zip(layouts, lambdas):
        with codec.at_layout(layout):
            loss = rd_loss(codec(x), x, lmbda)["loss"]
        loss.backward()  # one graph per sub-CAE: the sum's gradient without holding all K graphs
        total += float(loss.detach())
    optimizer.step()
    return total


@torch.no_grad()
def evaluate(codec: Codec, layouts: Sequence[Mapping[str, int]],
             batches: Iterable[torch.Tensor]) -> list[RDPoint]:
    """Each sub-CAE's bpp and MSE over ``batches`` (eval mode: rounded latents), pixel-weighted."""
    codec.eval()
    batches = list(batches)
    points = []
    for layout in layouts:
        bits = sq_err = pixels = 0.0
        with codec.at_layout(layout):
            for x in batches:
                losses = rd_loss(codec(x), x, 0.0)
                n = x.shape[0] * x.shape[2] * x.shape[3]
                bits += float(losses["bpp"]) * n
                sq_err += float(losses["mse"]) * n
                pixels += n
        points.append(RDPoint(bits / pixels, sq_err / pixels))
    return points


def schedule_lambdas(codec: Codec, layouts: Sequence[Mapping[str, int]], lmbda: float,
                     train_batches: Iterable[torch.Tensor], val_batches: Iterable[torch.Tensor],
                     optimizer: torch.optim.Optimizer, config: LambdaScheduling = LambdaScheduling(),
                     log: Callable[[Round], None] | None = None) -> ScheduleResult:
    """Train the sub-CAEs ``layouts`` (smallest first) of the full-width ``codec`` jointly with SlimCAE's
    lambda-scheduling from ``lambda^(K) = lmbda``; returns the final lambdas and every round."""
    if len(layouts) < 2:
        raise ValueError(f"{len(layouts)} sub-CAE(s): lambda-scheduling needs at least two")
    if getattr(codec, "CODES", None) != "image":
        raise ValueError(f"{type(codec).__name__} codes {codec.CODES}s: lambda-scheduling trains an "
                         f"image codec (forward(x))")
    batches = _endless(train_batches)
    val = list(val_batches)
    lambdas = [float(lmbda)] * len(layouts)
    steps = _train(codec, optimizer, batches, layouts, lambdas, config.naive_steps)
    result = ScheduleResult(list(lambdas), evaluate(codec, layouts, val), steps=steps)
    points = result.initial_points
    for i in range(len(layouts) - 1, 0, -1):
        reference = slope(points, i)
        for m in range(1, config.max_rounds + 1):
            lambdas = scaled(lambdas, i, config.kappa)
            result.steps += _train(codec, optimizer, batches, layouts, lambdas, config.steps_per_round)
            points = evaluate(codec, layouts, val)
            xi, stop = decide(points, i, reference)
            entry = Round(i, m, result.steps, list(lambdas), points, xi, stop)
            result.rounds.append(entry)
            if log is not None:
                log(entry)
            if stop:
                break
            reference = xi if xi is not None else reference
    result.lambdas = lambdas
    return result


def _train(codec: Codec, optimizer: torch.optim.Optimizer, batches: Iterator[torch.Tensor],
           layouts: Sequence[Mapping[str, int]], lambdas: Sequence[float], steps: int) -> int:
    for _ in range(steps):
        x = next(batches, None)
        if x is None:
            raise ValueError("the training batches ran out: pass a list (it is cycled) or an endless "
                             "iterator")
        loss = joint_step(codec, optimizer, x, layouts, lambdas)
        if not math.isfinite(loss):
            raise FloatingPointError(f"the multi-RD loss is {loss} (lambdas {list(lambdas)})")
    return steps


def _endless(batches: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
    """A list (or any re-iterable) is cycled; an iterator is taken as the caller's endless stream."""
    return batches if isinstance(batches, Iterator) else itertools.cycle(batches)
