"""DVC (Lu et al., "DVC: An End-to-end Deep Video Compression Framework", CVPR 2019), decoder side.

Follows the public PyTorch re-implementation (ZhihaoHu/PyTorchVideoCompression, ``DVC/``): module and
parameter names are theirs (``mvDecoder``, ``warpnet``, ``resDecoder``, ``respriorDecoder``), so their
checkpoints load strictly. Channel constants of that code: N=64, M=96, mv=128.

Decoding (``DVC/net.py``)::

    mv = mvDecoder(q_mv)                                   # 128 ch @ H/16 -> 2 ch @ H
    warped = flow_warp(ref, mv)
    prediction = warpnet(cat(warped, ref)) + warped        # motion compensation
    x_hat = prediction + resDecoder(q_res)                 # 96 ch @ H/16 -> 3 ch @ H
    sigma = respriorDecoder(z)                             # hyper decoder: Laplace scales of q_res

Where the code and cgSlimDecoder's Table S1 differ, ``Layer.paper`` keeps the table's notation.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from search.codec import Codec
from search.ops import flow_warp, upsample2x
from search.slim import ResBlock, SlimConv2d, SlimConvTranspose2d, SlimGDN
from search.widths import Layer, Widths

N, M, MV = 64, 96, 128

_MV_LAYERS = [Layer(f"mvDecoder.deconv{i}", "D" if i % 2 else "C", MV, arrow="↑" if i % 2 else "")
              for i in range(1, 8)]
_MV_LAYERS.append(Layer("mvDecoder.deconv8", "C", 2, fixed="flow output"))

_MC_LAYERS = [
    Layer("warpnet.feature_ext", "C", 64),
    Layer("warpnet.conv0", "R", 64, arrow="↓"),
    Layer("warpnet.conv1", "R", 64, arrow="↓"),
    Layer("warpnet.conv2", "R", 64),
    Layer("warpnet.conv3", "R", 64, arrow="↑"),
    Layer("warpnet.conv4", "R", 64, arrow="↑"),
    Layer("warpnet.conv5", "R", 64),
    Layer("warpnet.conv6", "C", 3, fixed="image output", paper="D(64,3)",
          note="the public code ends with a stride-1 Conv2d(64,3,3), not a deconvolution"),
]

_RES_NOTE = "the public PyTorch code has N=64 hidden channels (the table prints 96)"
_RES_LAYERS = [
    Layer("resDecoder.deconv1", "D", N, arrow="↑", paper="D(96,96)↑", note=_RES_NOTE),
    Layer("resDecoder.deconv2", "D", N, arrow="↑", paper="D(96,96)↑", note=_RES_NOTE),
    Layer("resDecoder.deconv3", "D", N, arrow="↑", paper="D(96,96)↑", note=_RES_NOTE),
    Layer("resDecoder.deconv4", "D", 3, arrow="↑", fixed="image output", paper="D(96,3)↑",
          note=_RES_NOTE),
]

_PRIOR_LAYERS = [
    Layer("respriorDecoder.deconv1", "D", N, arrow="↑", paper=""),
    Layer("respriorDecoder.deconv2", "D", N, arrow="↑", paper=""),
    Layer("respriorDecoder.deconv3", "D", M, fixed="entropy parameters (scales)", paper=""),
]


class SynthesisMV(nn.Module):
    """``Synthesis_mv_net``: 4 x (ConvT 3x3 s2, Conv 3x3), LeakyReLU(0.1) after all but the last."""

    def __init__(self, w: Widths, prefix: str = "mvDecoder"):
        super().__init__()
        width_in = w.fixed(MV)
        for i in range(1, 9):
            key = f"{prefix}.deconv{i}"
            cls = SlimConvTranspose2d if i % 2 else SlimConv2d
            layer = cls(w, width_in, w[key], 3, 2 if i % 2 else 1, row=key)
            w.row(key, width_in, w[key])
            setattr(self, f"deconv{i}", layer)
            width_in = w[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 8):
            x = F.leaky_relu(getattr(self, f"deconv{i}")(x), 0.1)
        return self.deconv8(x)


class WarpNet(nn.Module):
    """``Warp_net``: the motion compensation U-Net of ResBlocks (avg-pool down, bilinear up + skip)."""

    def __init__(self, w: Widths, prefix: str = "warpnet"):
        super().__init__()
        trunk = w[f"{prefix}.feature_ext"]
        frames = [w.fixed(3), w.fixed(3)]
        self.feature_ext = SlimConv2d(w, frames, trunk, 3, row=f"{prefix}.feature_ext")
        w.row(f"{prefix}.feature_ext", frames, trunk)
        for i in range(6):
            key = f"{prefix}.conv{i}"
            setattr(self, f"conv{i}", ResBlock(w, trunk, w[key], row=key))
        self.conv6 = SlimConv2d(w, trunk, w[f"{prefix}.conv6"], 3, row=f"{prefix}.conv6")
        w.row(f"{prefix}.conv6", trunk, w[f"{prefix}.conv6"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.feature_ext(x))
        c0 = self.conv0(x)
        c1 = self.conv1(F.avg_pool2d(c0, 2))
        c3 = self.conv3(self.conv2(F.avg_pool2d(c1, 2)))
        c4 = self.conv4(c1 + upsample2x(c3))
        c5 = self.conv5(c0 + upsample2x(c4))
        return self.conv6(c5)


class Synthesis(nn.Module):
    """``Synthesis_net``: 4 x ConvT 5x5 s2, IGDN after the first three."""

    def __init__(self, w: Widths, prefix: str = "resDecoder"):
        super().__init__()
        width_in = w.fixed(M)
        for i in range(1, 5):
            key = f"{prefix}.deconv{i}"
            setattr(self, f"deconv{i}", SlimConvTranspose2d(w, width_in, w[key], 5, 2, row=key))
            w.row(key, width_in, w[key])
            if i < 4:
                setattr(self, f"igdn{i}", SlimGDN(w, w[key], inverse=True, row=key))
            width_in = w[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 4):
            x = getattr(self, f"igdn{i}")(getattr(self, f"deconv{i}")(x))
        return self.deconv4(x)


class SynthesisPrior(nn.Module):
    """``Synthesis_prior_net``: ConvT 5x5 s2 + ReLU twice, ConvT 3x3 s1, exp (Laplace scales)."""

    def __init__(self, w: Widths, prefix: str = "respriorDecoder"):
        super().__init__()
        width_in = w.fixed(N)
        specs = [(5, 2), (5, 2), (3, 1)]
        for i, (k, s) in enumerate(specs, 1):
            key = f"{prefix}.deconv{i}"
            setattr(self, f"deconv{i}", SlimConvTranspose2d(w, width_in, w[key], k, s, row=key))
            w.row(key, width_in, w[key])
            width_in = w[key]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.deconv1(z))
        x = F.relu(self.deconv2(x))
        return torch.exp(self.deconv3(x))


class DVC(Codec):
    """DVC's decoder side at any width layout."""

    LAYERS = _MV_LAYERS + _MC_LAYERS + _RES_LAYERS + _PRIOR_LAYERS
    TIES = ()
    MULTIPLE = 64

    def __init__(self, layout=None):
        super().__init__(layout)
        w = self.widths
        self.mvDecoder = SynthesisMV(w)
        self.warpnet = WarpNet(w)
        self.resDecoder = Synthesis(w)
        self.respriorDecoder = SynthesisPrior(w)

    def decoder_inputs(self, height, width, batch=1, generator=None):
        def rand(c, s):
            return torch.randn(batch, c, height // s, width // s, generator=generator)
        return {"ref": torch.rand(batch, 3, height, width, generator=generator),
                "q_mv": rand(MV, 16).round(), "q_res": rand(M, 16).round(), "q_z": rand(N, 64).round()}

    def decode(self, ref, q_mv, q_res, q_z):
        mv = self.mvDecoder(q_mv)
        warped = flow_warp(ref, mv)
        prediction = self.warpnet(torch.cat([warped, ref], 1)) + warped
        x_hat = prediction + self.resDecoder(q_res)
        return {"x_hat": x_hat, "mv": mv, "prediction": prediction,
                "res_sigma": self.respriorDecoder(q_z)}


CODEC = DVC
