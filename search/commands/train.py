"""``python -m search.train space=fvc preset=quick``: stage-1 training of a whole codec.

Loss ``R_m + R_r + lambda * D`` (MSE), Eq. 1 of the cgSlimDecoder supplementary; Adam. With
``layout=a.yaml`` the codec is built at that layout (an exported architecture, fine-tuned from its
sliced weights with ``checkpoint=``). The run folder keeps atomic checkpoints and ``log.csv``; running
the same command again resumes from the newest checkpoint, or, once the run has ended (its steps or its
time limit: ``stage.json``), trains nothing unless ``extend=stage1``.

Presets: ``quick`` trains on the default clips at small crops on 2 CPU cores in minutes (its I-frames
are coded by x265's HEVC intra, which needs no training; with ``intra=learned`` it then trains a small
I-frame codec for a minute, kept as ``intra.pt`` beside the checkpoints); ``paper`` is the papers' GPU settings (Vimeo-90k, 256x256 crops,
their batch sizes, learning rates and iteration counts). ``device=``, ``precision=bf16``,
``compile=true`` and ``data_workers=`` say where and how it runs; ``torchrun --nproc_per_node=N -m
search.train ...`` splits each step's batch over N processes.
"""
from __future__ import annotations

from pathlib import Path

from ..config import Command, argv, keys, to_dict
from ..config.keysets import INTRA_KEYS, TRAINING_RUNTIME_KEYS
from ..data import training_frames
from ..errors import BadInput, cli_main
from ..paths import RESULTS_DIR
from ..pipeline.intra import obtain_intra
from ..pipeline.job import configure
from ..training import codes_images, train_stage1
from . import codecs_help

COMMAND = Command("search.train", __doc__.strip().split("\n\n")[1], keys(
    "space", "preset", "layout", "checkpoint", "data", "lmbda=training.lmbda", "steps=stage1.steps",
    "batch=training.batch", "crop=training.crop", "lr=training.lr", "gop=training.gop",
    "start=training.start",
    "reference=training.reference", "time_limit=stage1.time_limit",
    "checkpoint_every=training.checkpoint_every", *INTRA_KEYS, "seed", "out", "threads", "extend",
    *TRAINING_RUNTIME_KEYS),
                  epilog=codecs_help)


@cli_main
def main(args: list[str] | None = None) -> int:
    run = configure(COMMAND, argv() if args is None else args, trains=True)
    cfg, space = run.cfg, run.space
    if cfg.extend == "stage2":
        raise BadInput("extend=stage2: search.train trains stage 1 alone (extend=stage1 trains a "
                       "finished run on)")
    out = Path(cfg.out) if cfg.out else RESULTS_DIR / space.name / f"train-{cfg.preset}"
    clips = training_frames(cfg.data)
    history = train_stage1(space, run.layout, clips, cfg.training, cfg.stage1, out, seed=cfg.seed,
                           init=cfg.checkpoint, meta={"config": to_dict(cfg)}, runtime=run.runtime,
                           stage="stage1", extend=cfg.extend == "stage1")
    # the I-frame codec of its evaluation, beside its checkpoints (an image codec needs none)
    if cfg.preset == "quick" and cfg.intra.mode == "learned" and run.runtime.is_main \
            and not codes_images(space.codec):
        obtain_intra(cfg, cfg.training.lmbda, lambda: clips, beside=out, keep=True)
    if history and run.runtime.is_main:
        last = history[-1]
        print(f"step {int(last['step'])}: loss {last['loss']:.4f}, bpp {last['bpp']:.4f}, "
              f"PSNR {last['psnr']:.2f} dB; checkpoints in {out / 'checkpoints'}")
    return 0


if __name__ == "__main__":
    main()
