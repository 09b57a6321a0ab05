"""The export job: a chosen decoder written as standalone models, one file per part, verified.

The codec is built at the layout (channels removed: the sliced model, no masks) with the
checkpoint's weights, or randomly initialised from the seed when none is given. Each of its
exportable parts (:meth:`search.codec.Codec.export_parts`) is written in the format, loaded back and
run in that format's runtime on the part's example inputs at the export resolution; the job checks
that its outputs equal the PyTorch part's (largest absolute difference within ``tolerance``) and that
fvcore's MAC count of the part equals the closed form of the profile (:mod:`search.complexity`), and
times both (median of ``repeats`` runs after a warm-up). A part the codec keeps in PyTorch (DCVC's
autoregressive context models) is listed with its MACs and the reason. The manifest,
``manifest.json``, records all of it. Entropy decoding is not in any part: it stays CompressAI's
(its rANS coders and the codec's ``decompress``), which produces the parts' latent inputs.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from tqdm import tqdm

from ..codec import ExportPart
from ..complexity import Complexity, count_module, load_or_measure
from ..config import Config, format_resolution, parse_resolution
from ..deploy import Format, load_runner, median_seconds, write_part
from ..errors import BadInput
from ..files import atomic_write
from ..paths import PROFILE_DIR, RESULTS_DIR
from ..space import Space
from ..training import codec_at_layout

ENTROPY_DECODING = ("not exported: CompressAI's rANS decoders (the codec's decompress) turn the "
                    "bitstreams into the parts' latent inputs, with the parts' entropy parameters")


@dataclass
class Tensor:
    """A named input or output of a part: its shape and dtype."""

    name: str
    shape: list[int]
    dtype: str


@dataclass
class PartRecord:
    """What the manifest says of one part."""

    name: str
    description: str
    file: str
    submodules: list[str]
    inputs: list[Tensor]
    outputs: list[Tensor]
    gmacs: float
    macs_fvcore: int
    macs_closed_form: int
    kept_in_pytorch: str = ""
    max_abs_diff: float | None = None
    seconds_pytorch: float | None = None
    seconds_exported: float | None = None
    ratio: float | None = None  # exported / PyTorch time


@dataclass
class Manifest:
    """``manifest.json``: the codec, the layout, the format and every part."""

    codec: str
    space: str
    layout: dict[str, int]
    layout_file: str
    weights: str
    format: str
    exporter: str
    runtime: str
    opset: int | None
    resolution: str
    padded: str
    threads: int
    entropy_decoding: str
    folder: str
    parts: list[PartRecord] = field(default_factory=list)
    gmacs: float = 0.0
    max_abs_diff: float = 0.0
    tolerance: float = 1e-4

    @property
    def verified(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def check_device(cfg: Config) -> None:
    """The export and its checks run on the CPU (onnxruntime's CPU provider)."""
    if cfg.runtime.device not in ("auto", "cpu"):
        raise BadInput(f"device={cfg.runtime.device}: the export runs on the CPU (device=cpu)")


def default_out(cfg: Config, space: Space) -> Path:
    """``results/<space>/export/<layout file stem or full>-<format>`` unless ``out=`` is given."""
    if cfg.out:
        return Path(cfg.out)
    stem = Path(cfg.layout).stem if cfg.layout else "full"
    return RESULTS_DIR / space.name / "export" / f"{stem}-{cfg.export.format}"


def _tensors(names, values) -> list[Tensor]:
    return [Tensor(n, list(v.shape), str(v.dtype).replace("torch.", "")) for n, v in zip(names, values)]


def _max_diff(exported: list[np.ndarray], reference: tuple[torch.Tensor, ...]) -> float:
    return max(float(np.abs(e - r.numpy()).max()) for e, r in zip(exported, reference))


def _verify(part: ExportPart, fmt: Format, path: Path, cfg: Config, record: PartRecord) -> None:
    """Run the exported file, compare with the PyTorch part, time both."""
    args = tuple(part.inputs.values())
    runner = load_runner(fmt, path, list(part.inputs), cfg.threads)
    reference = part.run()
    record.max_abs_diff = _max_diff(runner(args), reference)
    record.seconds_exported = median_seconds(lambda: runner(args), cfg.export.repeats)
    record.seconds_pytorch = median_seconds(part.run, cfg.export.repeats)
    record.ratio = record.seconds_exported / record.seconds_pytorch


def export_part(part: ExportPart, fmt: Format, out: Path, cfg: Config, complexity: Complexity,
                layout: Mapping[str, int]) -> PartRecord:
    """One part: MACs checked against the closed form, written, run back and timed."""
    counted = count_module(part.module, tuple(part.inputs.values())).total
    closed = complexity.submodule_macs(layout, part.submodules)
    if counted != closed:
        raise RuntimeError(f"part {part.name}: fvcore counts {counted} MACs, the closed form "
                           f"{closed}: the part does not run exactly its modules")
    file = "" if part.kept_in_pytorch else f"{part.name}{fmt.suffix}"
    record = PartRecord(part.name, part.description, file, part.submodules,
                        _tensors(part.inputs, part.inputs.values()),
                        _tensors(part.outputs, part.run()), counted / 1e9, counted, closed,
                        part.kept_in_pytorch)
    if not part.kept_in_pytorch:
        _verify(part, fmt, write_part(part, fmt, out / file, cfg.export.opset), cfg, record)
    return record


def export_decoder(cfg: Config, space: Space, layout: Mapping[str, int], fmt: Format) -> Manifest:
    """Every part of ``space``'s codec at ``layout`` exported in ``fmt`` to the output folder, with
    ``manifest.json`` beside them."""
    width, height = parse_resolution(cfg.resolution)
    padded_h, padded_w = space.codec.padded_size(height, width)
    profile_dir = Path(cfg.profile.dir) if cfg.profile.dir else PROFILE_DIR
    complexity = Complexity(load_or_measure(space, (width, height), profile_dir, write=False,
                                            log=lambda *a, **k: None), space)
    torch.manual_seed(cfg.seed)
    codec = codec_at_layout(space, layout, cfg.checkpoint)
    parts = codec.export_parts(padded_h, padded_w, generator=torch.Generator().manual_seed(cfg.seed))
    out = default_out(cfg, space)
    manifest = Manifest(
        space.codec_name, space.name, dict(layout), cfg.layout,
        cfg.checkpoint or f"random initialisation, seed {cfg.seed}", fmt.name, fmt.exporter,
        fmt.runtime, cfg.export.opset if fmt.name == "onnx" else None,
        format_resolution((width, height)), format_resolution((padded_w, padded_h)), cfg.threads,
        ENTROPY_DECODING, str(out), tolerance=cfg.export.tolerance)
    for part in tqdm(parts, desc=f"export {fmt.name}", dynamic_ncols=True):
        manifest.parts.append(export_part(part, fmt, out, cfg, complexity, layout))
    manifest.gmacs = sum(p.gmacs for p in manifest.parts)
    manifest.max_abs_diff = max((p.max_abs_diff for p in manifest.parts
                                 if p.max_abs_diff is not None), default=0.0)
    atomic_write(out / "manifest.json", json.dumps(
        {**asdict(manifest), "verified": manifest.verified}, indent=1) + "\n")
    return manifest
