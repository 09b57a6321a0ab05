"""The learned image codec that codes each GOP's first frame (the I-frame), from CompressAI's zoo.

Every published figure of DVC, FVC and DCVC includes the I-frames: DVC codes them with BPG (no BPG
package is reachable here), FVC and DCVC with a learned image codec. The default is
``cheng2020-anchor`` (Cheng et al., CVPR 2020; CompressAI's ``Cheng2020Anchor``), as DCVC uses, with
DCVC's mapping of the P-frame lambda to the image codec's quality: 256 / 512 / 1024 / 2048 -> 3 / 4 /
5 / 6 (other lambdas take the nearest in log scale).

Weights: a file given as ``intra_checkpoint=`` (a CompressAI state dict of the architecture, or one of
ours, :func:`save_intra`), the zoo's pretrained download where the network allows it, or a small codec
of the same architecture trained on the bundled clips by the quick preset
(:mod:`search.intra.train`).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import BadInput
from ..files import atomic_write
from .classical import nearest_in_log

ARCHITECTURES = ("cheng2020-anchor", "cheng2020-attn", "mbt2018-mean", "mbt2018",
                 "bmshj2018-hyperprior", "bmshj2018-factorized")
#: DCVC's quality of the image codec for each P-frame lambda
QUALITY_OF_LAMBDA = {256.0: 3, 512.0: 4, 1024.0: 5, 2048.0: 6}
#: the frame size must be a multiple of this (four stride-2 stages and a hyperprior of two more)
MULTIPLE = 64
FORMAT = "cgslim-search/intra/1"


@dataclass
class IntraCodec:
    """An image codec and what its figures may be compared with (``label``: "pretrained",
    "trained" for a given file, or "quick" for the small codec of the quick preset)."""

    model: nn.Module
    architecture: str
    quality: int | None
    label: str
    source: str

    #: frame sizes the codec takes (four stride-2 stages and a hyperprior of two more)
    multiple: int = MULTIPLE

    def to(self, device: torch.device | str) -> "IntraCodec":
        self.model.to(device)
        return self

    @torch.no_grad()
    def code(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(reconstruction, bits) of a padded frame through the codec's real bitstream."""
        compressed = self.model.compress(x)
        x_hat = self.model.decompress(compressed["strings"], compressed["shape"])["x_hat"]
        return x_hat.clamp(0, 1), stream_bits(compressed["strings"])


def stream_bits(strings) -> int:
    """Bits of nested lists/dicts of byte strings (CompressAI's ``compress`` outputs)."""
    if isinstance(strings, (bytes, bytearray)):
        return 8 * len(strings)
    if isinstance(strings, dict):
        return sum(stream_bits(v) for v in strings.values())
    return sum(stream_bits(v) for v in strings)


def quality_for(lmbda: float) -> int:
    """DCVC's quality for a P-frame lambda (the nearest tabulated lambda in log scale)."""
    return nearest_in_log(QUALITY_OF_LAMBDA, lmbda)


def check_architecture(name: str) -> str:
    if name not in ARCHITECTURES:
        raise BadInput(f"intra_model={name!r}: expected one of {', '.join(ARCHITECTURES)} (CompressAI's "
                       f"zoo architectures)")
    return name


def model_class(architecture: str) -> type[nn.Module]:
    from compressai.zoo.image import model_architectures

    return model_architectures[check_architecture(architecture)]


def pretrained(architecture: str, quality: int) -> IntraCodec:
    """The zoo's pretrained MSE model (downloaded; one clear line when the network does not allow)."""
    from compressai.zoo import image_models

    try:
        model = image_models[check_architecture(architecture)](quality=quality, metric="mse",
                                                               pretrained=True)
    except (OSError, RuntimeError, ValueError) as err:
        raise BadInput(f"cannot download CompressAI's pretrained {architecture} (quality {quality}): "
                       f"{str(err).splitlines()[0] if str(err) else type(err).__name__}; give "
                       f"intra_checkpoint=PATH (its state dict), or intra=pristine") from None
    model.eval().update(force=True)
    return IntraCodec(model, architecture, quality, "pretrained", "CompressAI zoo")


def save_intra(path: Path | str, codec: IntraCodec, extra: dict | None = None) -> Path:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "architecture": codec.architecture, "quality": codec.quality,
                "label": codec.label, **(extra or {}), "model": codec.model.state_dict()}, buffer)
    return atomic_write(path, buffer.getvalue())


def load_intra(path: Path | str, architecture: str = "cheng2020-anchor") -> IntraCodec:
    """An image codec from ``path``: one of ours, or a CompressAI state dict of ``architecture``."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"intra_checkpoint={path}: no such file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise BadInput(f"intra_checkpoint={path}: not a readable PyTorch checkpoint "
                       f"({type(err).__name__})") from None
    ours = isinstance(data, dict) and data.get("format") == FORMAT
    state = data["model"] if ours else data.get("state_dict", data) if isinstance(data, dict) else None
    architecture = data["architecture"] if ours else architecture
    if not isinstance(state, dict):
        raise BadInput(f"intra_checkpoint={path}: expected a state dict of {architecture}")
    try:
        model = model_class(architecture).from_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as err:
        raise BadInput(f"intra_checkpoint={path}: does not fit {architecture} "
                       f"({str(err).splitlines()[0]})") from None
    model.eval().update(force=True)  # the coder's tables, for compress/decompress
    label = data.get("label", "trained") if ours else "trained"
    return IntraCodec(model, architecture, data.get("quality") if ours else None, label, str(path))
