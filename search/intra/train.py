"""The quick preset's I-frame codec: a small codec of the intra architecture trained on real frames.

Without pretrained weights (no network here) and without ``intra_checkpoint=``, the quick preset still
evaluates with coded I-frames: it trains an image codec of the same architecture with a quarter of
its channels (``N = 64``; the zoo's cheng2020-anchor has 128 or 192) on random crops of the training
clips for about a minute, with the P-frames' loss ``R + lambda * MSE`` and CompressAI's auxiliary
loss for the entropy bottleneck's quantiles, and keeps it as ``intra.pt`` beside the P-frame
checkpoint. Figures coded with it are labelled ``quick``: they show the protocol works, not what a
pretrained image codec would give.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from ..data import Clips, TrainPairs
from ..training.rd import rates_bpp
from .models import IntraCodec, load_intra, model_class, save_intra


@dataclass(frozen=True)
class QuickIntra:
    """The quick codec's size and budget."""

    channels: int = 64
    crop: int = 64
    batch: int = 8
    lr: float = 1e-3
    steps: int = 2000
    time_limit: float = 75.0


def train_quick_intra(clips: Clips, lmbda: float, seed: int, architecture: str = "cheng2020-anchor",
                      budget: QuickIntra = QuickIntra(), progress: bool = True) -> IntraCodec:
    """A small ``architecture`` codec trained on ``clips`` within ``budget`` (steps or seconds)."""
    torch.manual_seed(seed)
    model = model_class(architecture)(N=budget.channels)
    samples = TrainPairs(clips, budget.crop, 1, samples_per_epoch=budget.steps * budget.batch,
                         seed=seed + 7, skip_small=True)
    main = [p for n, p in model.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
    optimizer, aux_optimizer = torch.optim.Adam(main, lr=budget.lr), torch.optim.Adam(aux, lr=1e-3)
    bar = tqdm(total=budget.steps, desc=f"quick intra {architecture}", disable=not progress,
               dynamic_ncols=True, mininterval=1.0)
    started = time.perf_counter()
    model.train()
    for step in range(budget.steps):
        x = torch.stack([samples[step * budget.batch + i][0] for i in range(budget.batch)])
        out = model(x)
        bpp = sum(rates_bpp({"image": out["likelihoods"]}, x.shape[0] * x.shape[2] * x.shape[3]).values())
        loss = bpp + lmbda * torch.mean((out["x_hat"] - x) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        optimizer.step()
        aux_optimizer.zero_grad(set_to_none=True)
        model.aux_loss().backward()
        aux_optimizer.step()
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4g}", bpp=f"{bpp.item():.3f}", refresh=False)
        if time.perf_counter() - started > budget.time_limit:
            bar.total = step + 1  # the time limit, not the step count, ended it: show the real end
            break
    bar.refresh()
    bar.close()
    model.eval().update(force=True)
    return IntraCodec(model, architecture, None, "quick", f"trained {bar.n} steps on the bundled clips")


def quick_intra(path: Path, clips: Clips, lmbda: float, seed: int,
                architecture: str = "cheng2020-anchor", budget: QuickIntra = QuickIntra()) -> IntraCodec:
    """The quick codec kept at ``path``: loaded if there, else trained and saved there."""
    if path.is_file():
        return load_intra(path, architecture)
    codec = train_quick_intra(clips, lmbda, seed, architecture, budget)
    save_intra(path, codec, {"lambda": float(lmbda), "seed": int(seed)})
    return codec
