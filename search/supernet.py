"""``python -m search.supernet space=fvc target_gmacs=[300,200,120]``: cgSlimDecoder stage 2.

Sections A and B of the supplementary. Each step draws a level ``i`` at random, feeds its one-hot
complexity vector to the mode-selection module, samples every choice with Gumbel-softmax
(straight-through), runs the full-width codec with the sampled widths as channel masks (one full-width
forward per step, whatever is sampled), and minimises (Eq. 2-3)::

    L = R_m + R_r + lambda * D + alpha_i * C_i,   alpha_i = beta * (C_i - C_i^tar)^2,
    beta = +0.001 if C_i > C_i^tar else -0.001

with ``C_i`` the sampled layout's GMACs from the closed form (exact forward, relaxed backward) and
``alpha_i`` held constant within the step. ``tau`` anneals from 3 towards a floor.

Afterwards each level's layout is the argmax of its logits; it is then landed exactly on its target
(:mod:`search.landing`), and targets between two levels are served by interpolating their complexity
vectors. Without ``checkpoint=``, stage 1 runs first with the same preset.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from omegaconf import OmegaConf

from .checkpoint import latest_checkpoint
from .cli import argv, normalise, option, parse
from .codec import ROOT, Codec
from .complexity import PROFILE_DIR, Complexity, load_or_measure, parse_resolution
from .data import Clips, EvalSequences, TrainPairs
from .errors import BadInput, cli_main
from .eval import evaluate
from .gumbel import TauSchedule
from .landing import Landing, land
from .layout import layout_file
from .loop import LoopConfig, TrainingLoop
from .selection import (ModeSelection, SampledComplexity, choices_for_codec, complexity_vector,
                        sample)
from .slim import load_sliced
from .space import Space, load_space
from .tables import RENDERERS, Column, structure_table
from .train import TrainConfig, build_model, figures_of, p_frame_losses, resolve, train
from .yamlio import atomic_write


@dataclass
class SupernetConfig:
    space: str = option("fvc", "search space: spaces/<name>.yaml or a path")
    target_gmacs: list[float] = option([], "GMAC targets, one level each (level 1 the highest)")
    interpolate: list[float] = option([], "extra targets between the levels, served by interpolated "
                                          "complexity vectors (no retraining)")
    resolution: str = option("1920x1080", "frame size WIDTHxHEIGHT the GMACs are counted at")
    checkpoint: str = option("", "stage-1 weights; empty: run stage 1 first with the same preset")
    preset: str = option("quick", "quick (2 CPU cores) or paper")
    data: str = option("default", "training and evaluation clips")
    lmbda: Optional[float] = option(None, "lambda of R + lambda*MSE (preset's if unset; also lambda=)")
    steps: Optional[int] = option(None, "stage-2 steps (preset's if unset)")
    stage1_steps: Optional[int] = option(None, "stage-1 steps when no checkpoint is given (preset's if unset)")
    stage1_time_limit: Optional[float] = option(None, "stage-1 wall-clock budget in seconds (preset's if unset)")
    batch: Optional[int] = option(None, "batch size (preset's if unset)")
    crop: Optional[int] = option(None, "training crop (preset's if unset)")
    lr: Optional[float] = option(None, "learning rate of the codec (preset's if unset)")
    selector_lr: float = option(1e-2, "learning rate of the mode-selection module")
    hidden: int = option(64, "hidden units of the mode-selection module")
    beta: float = option(0.001, "beta when C_i is above its target (Eq. 3)")
    beta_below: float = option(-0.001, "beta when C_i is below its target (Eq. 3)")
    tau_start: float = option(3.0, "initial Gumbel-softmax temperature")
    tau_floor: float = option(0.1, "final temperature (> 0)")
    tau_schedule: str = option("exponential", "linear or exponential")
    tolerance: float = option(0.005, "landing: lowest acceptable GMACs, as a fraction below the target")
    eval_gops: int = option(1, "GOPs per sequence to evaluate each level on (0: skip evaluation)")
    eval_gop_size: int = option(4, "frames per evaluation GOP")
    bitstream: bool = option(False, "evaluation bpp from real bitstreams (slower) or likelihoods")
    seed: int = option(0, "seed of every random choice")
    out: str = option("", "run folder (default results/<space>/supernet-<preset>)")
    time_limit: Optional[float] = option(None, "stage-2 wall-clock budget in seconds (0: none)")
    checkpoint_every: Optional[int] = option(None, "steps between checkpoints (preset's if unset)")
    threads: int = option(0, "torch CPU threads (0: torch's default)")


@dataclass
class LevelResult:
    name: str
    target: float
    vector: list[float]
    argmax_gmacs: float
    landing: Landing
    layout: dict[str, int]
    interpolated: bool = False
    metrics: dict[str, float] = field(default_factory=dict)


def check_targets(targets: list[float], low: float, high: float, key: str = "target_gmacs"
                  ) -> list[float]:
    if not targets:
        raise BadInput(f"{key}: give at least one target, e.g. {key}=[300,200,120]")
    if len(set(targets)) != len(targets):
        raise BadInput(f"{key}={targets}: duplicated targets (give distinct values)")
    for t in targets:
        if not low <= t <= high:
            raise BadInput(f"{key}={t:g} is outside what the space can reach: [{low:.3f}, {high:.3f}] "
                           f"GMACs")
    return sorted(targets, reverse=True)


class Supernet:
    """Codec + mode selection + sampled complexity: one stage-2 step, and the layouts it learned."""

    def __init__(self, space: Space, complexity: Complexity, codec: Codec, targets: list[float],
                 hidden: int = 64):
        self.space, self.complexity, self.codec, self.targets = space, complexity, codec, targets
        self.selector = ModeSelection(len(targets), space.group_sizes, hidden)
        self.sampled_gmacs = SampledComplexity(complexity)

    def vector(self, level: int) -> torch.Tensor:
        return complexity_vector(len(self.targets), level)

    def penalty(self, gmacs: torch.Tensor, target: float, beta: float, beta_below: float
                ) -> torch.Tensor:
        """``alpha_i * C_i`` with ``alpha_i = beta (C_i - C_i^tar)^2``, alpha constant (Eq. 2-3)."""
        value = float(gmacs.detach())
        b = beta if value > target else beta_below
        alpha = b * (value - target) ** 2
        return alpha * gmacs

    def sample_and_mask(self, level: int, tau: float, generator: torch.Generator
                        ) -> tuple[list[torch.Tensor], torch.Tensor]:
        samples = sample(self.selector, self.vector(level), tau, generator)
        self.codec.set_choices(choices_for_codec(self.space, samples))
        return samples, self.sampled_gmacs(samples)

    def layout_of(self, vector: torch.Tensor) -> tuple[list[int], dict[str, int]]:
        choice = self.selector.argmax(vector)
        return choice, self.space.layout_of(choice)

    def level_result(self, name: str, target: float, vector: torch.Tensor, tolerance: float,
                     interpolated: bool = False) -> LevelResult:
        choice, _ = self.layout_of(vector)
        argmax_gmacs = float(self.complexity.gmacs_of_choices(np.array([choice]))[0])
        landing = land(self.complexity, self.selector.scores(vector), target, tolerance)
        return LevelResult(name, target, vector.tolist(), argmax_gmacs, landing,
                           self.space.layout_of(landing.choice), interpolated)

    def interpolated_vector(self, target: float) -> torch.Tensor:
        """Between the two trained levels whose targets bracket ``target``, linearly in GMACs."""
        targets = self.targets
        if not targets[-1] <= target <= targets[0]:
            raise BadInput(f"interpolate={target:g} is not between the trained levels "
                           f"[{targets[-1]:g}, {targets[0]:g}]")
        for i in range(len(targets) - 1):
            hi, lo = targets[i], targets[i + 1]
            if lo <= target <= hi:
                w = (target - lo) / (hi - lo)
                v = torch.zeros(len(targets))
                v[i], v[i + 1] = w, 1 - w
                return v
        return self.vector(0)


def step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step, 2]).generate_state(1)[0]))


def train_supernet(cfg: SupernetConfig) -> tuple[Supernet, list[LevelResult], Path]:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    resolution = parse_resolution(cfg.resolution)
    space = load_space(cfg.space)
    complexity = Complexity(load_or_measure(space, resolution, PROFILE_DIR), space)
    low, high = complexity.range_gmacs()
    targets = check_targets([float(t) for t in cfg.target_gmacs], low, high)
    extra = check_targets([float(t) for t in cfg.interpolate], low, high, "interpolate") \
        if cfg.interpolate else []
    schedule_args = dict(start=cfg.tau_start, floor=cfg.tau_floor, kind=cfg.tau_schedule)
    TauSchedule(steps=1, **schedule_args)  # validate before any work
    out = Path(cfg.out) if cfg.out else ROOT / "results" / space.name / f"supernet-{cfg.preset}"

    stage1 = TrainConfig(space=cfg.space, preset=cfg.preset, data=cfg.data, lmbda=cfg.lmbda,
                         batch=cfg.batch, crop=cfg.crop, lr=cfg.lr, seed=cfg.seed,
                         steps=cfg.stage1_steps, time_limit=cfg.stage1_time_limit,
                         threads=cfg.threads,
                         out=str(out / "stage1"))
    settings = resolve(TrainConfig(**{**asdict(stage1), "steps": cfg.steps, "threads": 0,
                                      "checkpoint_every": cfg.checkpoint_every,
                                      "time_limit": cfg.time_limit}))
    checkpoint = cfg.checkpoint
    if not checkpoint:
        train(stage1)
        checkpoint = str(latest_checkpoint(out / "stage1" / "checkpoints"))
    torch.manual_seed(cfg.seed)
    codec = build_model(settings, checkpoint)
    net = Supernet(space, complexity, codec, targets, cfg.hidden)
    schedule = TauSchedule(steps=settings.steps, **schedule_args)
    samples = TrainPairs(Clips(cfg.data), settings.crop, 2, samples_per_epoch=settings.steps * settings.batch,
                         seed=cfg.seed + 1)
    optimizer = torch.optim.Adam([{"params": codec.parameters(), "lr": settings.lr},
                                  {"params": net.selector.parameters(), "lr": cfg.selector_lr}])
    meta = {"codec": space.codec_name, "space": space.name, "layout": space.full_layout(),
            "targets": targets, "config": asdict(cfg)}
    loop = TrainingLoop(LoopConfig(steps=settings.steps, out=out, time_limit=settings.time_limit,
                                   checkpoint_every=settings.checkpoint_every,
                                   desc=f"stage 2 {space.codec_name}",
                                   bar_keys=("loss", "psnr") + tuple(f"L{i + 1}" for i in range(len(targets))),
                                   meta=meta),
                        {"model": codec, "selector": net.selector}, optimizer)
    if loop.resume():
        print(f"resuming {out} from step {loop.start_step}")
    atomic_write(out / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    last_sampled = {f"L{i + 1}": float("nan") for i in range(len(targets))}

    def step_fn(step: int) -> dict[str, float]:
        codec.train()
        generator = step_generator(cfg.seed, step)
        level = int(torch.randint(len(targets), (1,), generator=generator))
        _, gmacs = net.sample_and_mask(level, schedule(step), generator)
        frames = torch.stack([samples[step * settings.batch + i] for i in range(settings.batch)])
        losses = p_frame_losses(codec, frames, settings.lmbda, "gt")
        penalty = net.penalty(gmacs, targets[level], cfg.beta, cfg.beta_below)
        loss = losses["loss"] + penalty.to(losses["loss"].dtype)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(codec.parameters(), 1.0)
        optimizer.step()
        codec.set_choices(None)
        last_sampled[f"L{level + 1}"] = float(gmacs.detach())
        return {**figures_of(losses), "level": level + 1, "gmacs": float(gmacs.detach()),
                "target": targets[level], "tau": schedule(step), **last_sampled}

    loop.run(step_fn)
    results = [net.level_result(f"Level {i + 1}", t, net.vector(i), cfg.tolerance)
               for i, t in enumerate(targets)]
    results += [net.level_result(f"Interpolated {t:g}", t, net.interpolated_vector(t), cfg.tolerance,
                                 interpolated=True) for t in extra if t not in targets]
    return net, results, out


def evaluate_levels(net: Supernet, results: list[LevelResult], cfg: SupernetConfig) -> None:
    """PSNR and bpp of each landed layout, through the sliced model with the shared weights."""
    if cfg.eval_gops <= 0:
        return
    sequences = EvalSequences(Clips(cfg.data, max_frames=cfg.eval_gops * cfg.eval_gop_size),
                              cfg.eval_gop_size, cfg.eval_gops)
    net.codec.set_choices(None)
    for r in [None] + results:
        layout = net.space.full_layout() if r is None else r.layout
        model = load_sliced(net.space.codec(layout), net.codec)
        frame = evaluate(model, sequences, cfg.bitstream, progress=False)
        metrics = {"psnr": float(frame["psnr"].mean()), "bpp": float(frame["bpp"].mean()),
                   "ms_ssim": float(frame["ms_ssim"].mean())}
        if r is None:
            net.original_metrics = metrics
        else:
            r.metrics = metrics


def write_results(net: Supernet, results: list[LevelResult], out: Path, cfg: SupernetConfig) -> None:
    space, complexity = net.space, net.complexity
    resolution = complexity.profile.resolution
    for r in results:
        stem = r.name.lower().replace(" ", "_")
        layout_file(space, r.layout, resolution, r.landing.gmacs, name=r.name).save(
            out / "layouts" / f"{stem}.yaml")
    source = "bitstream" if cfg.bitstream else "likelihood"
    original = getattr(net, "original_metrics", {})
    columns = [Column("Original", space.full_layout(), _metric_cells(original, source))]
    columns += [Column(r.name, r.layout, _metric_cells(r.metrics, source)) for r in results]
    table = structure_table(space, complexity, columns)
    for fmt, render in RENDERERS.items():
        atomic_write(out / f"report.{fmt}", render(table))
    summary = [{"name": r.name, "target_gmacs": r.target, "interpolated": r.interpolated,
                "vector": r.vector, "argmax_gmacs": r.argmax_gmacs,
                "argmax_distance": (r.argmax_gmacs - r.target) / r.target,
                "landed_gmacs": r.landing.gmacs, "landed_distance": r.landing.distance,
                "reachable": r.landing.reachable, "note": r.landing.note, **r.metrics}
               for r in results]
    atomic_write(out / "summary.json", json.dumps({"levels": summary, "original": original},
                                                  indent=1) + "\n")


def _metric_cells(metrics: dict[str, float], source: str) -> dict[str, str]:
    if not metrics:
        return {}
    return {"PSNR (dB)": f"{metrics['psnr']:.3f}", f"bpp ({source})": f"{metrics['bpp']:.4f}"}


def print_summary(results: list[LevelResult], out: Path) -> None:
    print(f"{'level':<18}{'target':>10}{'argmax':>10}{'dist':>8}{'landed':>10}{'dist':>8}"
          f"{'PSNR':>8}{'bpp':>8}")
    for r in results:
        psnr = f"{r.metrics['psnr']:.2f}" if r.metrics else "-"
        bpp = f"{r.metrics['bpp']:.4f}" if r.metrics else "-"
        print(f"{r.name:<18}{r.target:>10.3f}{r.argmax_gmacs:>10.3f}"
              f"{100 * (r.argmax_gmacs - r.target) / r.target:>7.1f}%{r.landing.gmacs:>10.3f}"
              f"{100 * r.landing.distance:>7.2f}%{psnr:>8}{bpp:>8}")
        if r.landing.note:
            print(f"  note: {r.landing.note}")
    print(f"results: {out}")


@cli_main
def main(args: list[str] | None = None) -> int:
    words = normalise(argv() if args is None else args, list_keys=("target_gmacs", "interpolate"))
    cfg = parse(SupernetConfig, words, "search.supernet", __doc__.strip().split("\n\n")[0])
    net, results, out = train_supernet(cfg)
    evaluate_levels(net, results, cfg)
    write_results(net, results, out, cfg)
    print_summary(results, out)
    return 0


if __name__ == "__main__":
    main()
