"""The training batches of each step, through a torch DataLoader, for one process of a run.

Step ``s`` of a run with global batch ``B`` trains on samples ``s*B .. s*B + B - 1`` of its
:class:`~search.data.TrainPairs` (each drawn from the seed and its index alone). With ``n`` processes,
process ``r`` takes the ``r``-th contiguous ``B / n`` of them (:func:`rank_indices`); together the
processes see exactly the samples one process would. Workers read samples in parallel; the batches,
and so the run, are the same whatever the worker count.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import BadInput


def rank_indices(step: int, batch: int, rank: int = 0, world: int = 1) -> list[int]:
    """The sample indices process ``rank`` of ``world`` trains on at ``step`` (global batch ``batch``)."""
    local = batch // world
    first = step * batch + rank * local
    return list(range(first, first + local))


class StepSampler(Sampler[list[int]]):
    """Batches of sample indices for steps ``start .. steps - 1``, this process's share of each."""

    def __init__(self, batch: int, steps: int, start: int = 0, rank: int = 0, world: int = 1):
        if batch < 1 or world < 1 or batch % world:
            raise BadInput(f"batch={batch} does not split over {world} processes (give a multiple of "
                           f"{world})")
        self.batch, self.steps, self.start, self.rank, self.world = batch, steps, start, rank, world

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.steps):
            yield rank_indices(step, self.batch, self.rank, self.world)

    def __len__(self) -> int:
        return max(self.steps - self.start, 0)


def step_loader(dataset: Dataset, sampler: StepSampler, workers: int = 0, *, pin_memory: bool = False,
                seed: int = 0) -> DataLoader:
    """A DataLoader yielding the batches of ``sampler`` in step order: ``workers`` processes (kept
    alive between batches), pinned memory for a GPU. ``seed`` seeds the workers' own generators
    (distinct per process when the caller folds the rank in); the samples do not use them."""
    if workers < 0:
        raise BadInput(f"data_workers={workers}: must be >= 0 (0 reads samples in process)")
    generator = torch.Generator().manual_seed(int(seed))
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, pin_memory=pin_memory,
                      persistent_workers=workers > 0, generator=generator,
                      prefetch_factor=4 if workers > 0 else None)
