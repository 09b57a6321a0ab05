"""The rate-distortion loss: ``R_m + R_r + lambda * D`` for a coded P-frame (Eq. 1 of the cgSlimDecoder
supplementary), ``R + lambda * D`` for an image (likelihoods under the part ``"image"``), with rates in
bits per pixel from the likelihoods."""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F

from ..entropy import bits


def rates_bpp(likelihoods: Mapping[str, Mapping[str, torch.Tensor]], num_pixels: int
              ) -> dict[str, torch.Tensor]:
    """Bits per pixel of each part ("motion", "residual") from its likelihoods."""
    out = {}
    for part, named in likelihoods.items():
        total = sum((bits(lik) for lik in named.values()), torch.zeros(()))
        out[part] = total / num_pixels
    return out


def rd_loss(output: Mapping, x: torch.Tensor, lmbda: float) -> dict[str, torch.Tensor]:
    """``loss = R + lambda * MSE`` with ``R`` the rates of every likelihood part in bpp over the batch's
    pixels: ``R_m + R_r`` for a P-frame codec, ``R_image`` (reported as ``bpp_image``) for an image
    codec."""
    batch, _, height, width = x.shape
    rates = rates_bpp(output["likelihoods"], batch * height * width)
    # on the frames' device (a part with no likelihoods rates zero bits), in the frames' precision (a
    # reconstruction from an autocast forward pass may be half precision)
    motion = rates.get("motion", torch.zeros(())).to(x.device)
    residual = rates.get("residual", torch.zeros(())).to(x.device)
    total = motion + residual
    for part in sorted(rates.keys() - {"motion", "residual"}):
        total = total + rates[part].to(x.device)
    mse = F.mse_loss(output["x_hat"].to(x.dtype), x)
    out = {"loss": total + lmbda * mse, "bpp": total, "bpp_motion": motion, "bpp_residual": residual,
           "mse": mse}
    if "image" in rates:
        out["bpp_image"] = rates["image"]
    return out


def figures_of(losses: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The loss terms as floats, with the PSNR of their MSE (what progress bars and logs show)."""
    out = {k: float(v.detach()) for k, v in losses.items()}
    mse = max(out["mse"], 1e-12)
    out["psnr"] = 10 * torch.log10(torch.tensor(1.0 / mse)).item()
    return out
