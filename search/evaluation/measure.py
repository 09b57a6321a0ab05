"""What the video and the image evaluation both measure of a decoded frame: its quality against the
source, and whether the bitstream decodes to the encoder's reconstruction."""
from __future__ import annotations

import math

import torch

from ..data.color import rgb_to_yuv420
from ..data.testset import Frame
from .metrics import msssim, plane_psnr, psnr
from .protocol import Protocol


class DecodeMismatch(RuntimeError):
    """The decoder's reconstruction from the bitstream differs from the encoder's."""


#: largest difference (in [0, 1] pixel units) between the decoded and the encoder's reconstruction
DECODE_TOLERANCE = 1e-3


def check_decoded(decoded: torch.Tensor, encoded: torch.Tensor, what: str) -> None:
    """A bitstream that does not decode to the encoder's reconstruction is an error, not a low PSNR
    (entropy coders need the encoder's and decoder's scales to agree bit for bit)."""
    worst = float((decoded.float() - encoded.float()).abs().max())
    if not math.isfinite(worst) or worst > DECODE_TOLERANCE:
        raise DecodeMismatch(f"{what}: decompress gives a reconstruction {worst:.3g} away from the "
                             f"encoder's (tolerance {DECODE_TOLERANCE:g}): the bitstream does not decode")


def quality(decoded: torch.Tensor, frame: Frame, protocol: Protocol, bitdepth: int) -> dict[str, float]:
    """PSNR and MS-SSIM in RGB; with ``yuv_psnr``, PSNR per plane in YUV 4:2:0 and 6:1:1."""
    out = {"psnr": psnr(decoded, frame.rgb), "ms_ssim": msssim(decoded, frame.rgb)}
    if protocol.yuv_psnr:
        source = frame.yuv or rgb_to_yuv420(frame.rgb, protocol.yuv.matrix, bitdepth)
        planes = rgb_to_yuv420(decoded, protocol.yuv.matrix, bitdepth)
        for name, a, b in zip("yuv", planes, source):
            out[f"psnr_{name}"] = plane_psnr(a.clamp(0, 1), b)
        out["psnr_yuv"] = (6 * out["psnr_y"] + out["psnr_u"] + out["psnr_v"]) / 8
    return out
