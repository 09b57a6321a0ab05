"""Colour conversion of YUV 4:2:0 test sequences to and from RGB.

Two conventions of the field, chosen with ``yuv_to_rgb=``:

* ``bt709`` (CompressAI and the later DCVC work): BT.709 coefficients on full-range samples
  (``Y, U, V`` in [0, 1]), chroma upsampled bilinearly (CompressAI's ``yuv_420_to_444``) and
  downsampled by 2x2 averaging (``yuv_444_to_420``): CompressAI's ``ycbcr2rgb`` / ``rgb2ycbcr``.
* ``bt601`` (the PNGs of the DVC and DCVC papers, made by ffmpeg's default conversion): BT.601
  coefficients on limited-range samples (luma 16..235, chroma 16..240 centred at 128 at 8 bits,
  scaled by ``2 ** (bitdepth - 8)`` above), chroma resampled as above.

RGB is float in [0, 1] (clamped); YUV planes are floats normalised by ``2 ** bitdepth - 1``.
"""
from __future__ import annotations

import torch
from compressai.transforms.functional import (rgb2ycbcr, ycbcr2rgb, yuv_420_to_444,
                                              yuv_444_to_420)

from ..errors import BadInput

MATRICES = ("bt709", "bt601")
_BT601 = (0.299, 0.587, 0.114)


def check_matrix(matrix: str) -> str:
    if matrix not in MATRICES:
        raise BadInput(f"yuv_to_rgb={matrix!r}: expected one of {', '.join(MATRICES)}")
    return matrix


def _limited(bitdepth: int) -> tuple[float, float, float, float]:
    """(luma offset, luma range, chroma range, chroma centre) of limited-range samples, as fractions
    of full scale (8 bits: 16, 219, 224 and 128 of 255)."""
    peak = 2 ** bitdepth - 1
    scale = 2 ** (bitdepth - 8)
    return 16 * scale / peak, 219 * scale / peak, 224 * scale / peak, 128 * scale / peak


def yuv420_to_rgb(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor, matrix: str = "bt709",
                  bitdepth: int = 8) -> torch.Tensor:
    """[N,1,H,W] luma and [N,1,H/2,W/2] chroma in [0, 1] to [N,3,H,W] RGB in [0, 1]."""
    yuv = yuv_420_to_444((y, u, v))
    if matrix == "bt709":
        return ycbcr2rgb(yuv).clamp(0, 1)
    offset, luma, chroma, centre = _limited(bitdepth)
    y, u, v = yuv.chunk(3, 1)
    y, u, v = (y - offset) / luma, (u - centre) / chroma, (v - centre) / chroma
    kr, kg, kb = _BT601
    r = y + 2 * (1 - kr) * v
    b = y + 2 * (1 - kb) * u
    g = (y - kr * r - kb * b) / kg
    return torch.cat((r, g, b), 1).clamp(0, 1)


def rgb_to_yuv420(rgb: torch.Tensor, matrix: str = "bt709", bitdepth: int = 8
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[N,3,H,W] RGB in [0, 1] to (Y [N,1,H,W], U, V [N,1,H/2,W/2]) in [0, 1], the inverse of
    :func:`yuv420_to_rgb` up to chroma resampling."""
    if matrix == "bt709":
        return yuv_444_to_420(rgb2ycbcr(rgb))
    offset, luma, chroma, centre = _limited(bitdepth)
    kr, kg, kb = _BT601
    r, g, b = rgb.chunk(3, 1)
    y = kr * r + kg * g + kb * b
    u = (b - y) / (2 * (1 - kb))
    v = (r - y) / (2 * (1 - kr))
    return yuv_444_to_420(torch.cat((y * luma + offset, u * chroma + centre, v * chroma + centre), 1))
