"""Each step's batch for this process, through a DataLoader, and the quantisation noise of its samples.

Both come from the seed and the sample indices alone (:func:`search.data.rank_indices`): sample ``k``
is drawn from ``(seed, 0, k)`` (:class:`search.data.TrainPairs`) and its noise from ``(seed, 1, k)``
(:func:`search.entropy.sample_noise`). So a run is the same with any number of DataLoader workers,
after a resume, and split over any number of processes with the same global batch.
"""
from __future__ import annotations

from contextlib import AbstractContextManager

import torch
from torch.utils.data import DataLoader

from ..data import StepSampler, TrainPairs, rank_indices, step_loader
from ..entropy import sample_noise
from .runtime import Runtime, derived_seed


class StepBatches:
    """``batches(step)``: this process's share of step ``step``'s samples, on the runtime's device.

    Steps are read in order through one DataLoader (its workers read ahead); asking for another step
    than the next one starts a new loader there (a resume)."""

    def __init__(self, samples: TrainPairs, batch: int, runtime: Runtime | None = None):
        self.samples, self.batch = samples, int(batch)
        self.runtime = runtime or Runtime()
        self.local = self.runtime.local_batch(self.batch)
        self.steps = len(samples) // self.batch
        self._loader: DataLoader | None = None
        self._iterator = None
        self._next_step: int | None = None

    def _start(self, step: int) -> None:
        rt = self.runtime
        self.close()
        sampler = StepSampler(self.batch, self.steps, step, rt.rank, rt.world)
        self._loader = step_loader(self.samples, sampler, rt.workers, pin_memory=rt.pin_memory,
                                   seed=derived_seed(self.samples.seed, rt.rank, 5))
        self._iterator = iter(self._loader)

    def __call__(self, step: int) -> torch.Tensor:
        if self._iterator is None or step != self._next_step:
            self._start(step)
        frames = next(self._iterator)
        self._next_step = step + 1
        return frames.to(self.runtime.device, non_blocking=self.runtime.pin_memory)

    def indices(self, step: int) -> list[int]:
        rt = self.runtime
        return rank_indices(step, self.batch, rt.rank, rt.world)

    def noise(self, step: int) -> AbstractContextManager:
        """The block in which the codec's training quantisation draws the noise of this step's samples."""
        return sample_noise([derived_seed(self.samples.seed, 1, k) for k in self.indices(step)])

    def close(self) -> None:
        """Stop the DataLoader's workers (dropping the iterator shuts them down)."""
        self._iterator, self._loader, self._next_step = None, None, None
