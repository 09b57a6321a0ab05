"""Parameter-free operations shared by the codecs (warping, resampling)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def flow_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp ``image`` by a pixel-unit ``flow`` ([B,2,H,W], x then y), bilinear, border padding,
    as the public DVC/FVC/DCVC code does (``torch.nn.functional.grid_sample``, align_corners=True)."""
    b, _, h, w = flow.shape
    ys, xs = torch.meshgrid(torch.linspace(-1.0, 1.0, h, device=flow.device, dtype=flow.dtype),
                            torch.linspace(-1.0, 1.0, w, device=flow.device, dtype=flow.dtype),
                            indexing="ij")
    grid = torch.stack((xs, ys), dim=-1).unsqueeze(0)
    scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=flow.device,
                         dtype=flow.dtype)
    grid = grid + flow.permute(0, 2, 3, 1) * scale
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 upsampling with align_corners=True (DVC's ``bilinearupsacling2``)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
