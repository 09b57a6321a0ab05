"""A tiny image codec registered from tests/: two strided convs to an 8-channel latent under a
factorized prior (Ballé et al., ICLR 2017, without GDN), a two-layer slimmable synthesis. It has no
test of its own: being in a codec folder the conformance suite walks is what gets it tested."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from search.codec import Codec, Preset, Provenance
from search.entropy import BitEstimator, update_all
from search.nn.layers import deconv
from search.nn.widths import Layer

LATENT, HIDDEN = 8, 16


class Tiny(Codec):
    """Latent at H/4; the synthesis D(8,16)↑ D(16,3)↑ is the decoder side."""

    CODES = "image"
    LAYERS = (Layer("synthesis.deconv1", "D", HIDDEN, arrow="↑"),
              Layer("synthesis.deconv2", "D", 3, arrow="↑", fixed="image output"))
    MULTIPLE = 4
    PROVENANCE = Provenance(paper='Ballé et al., "End-to-end Optimized Image Compression", ICLR 2017')
    QUICK = Preset(crop=16, batch=2, lr=1e-3, steps=10)

    def __init__(self, layout=None):
        super().__init__(layout)
        w = self.widths
        self.analysis = nn.Sequential(nn.Conv2d(3, HIDDEN, 5, 2, 2), nn.LeakyReLU(0.1),
                                      nn.Conv2d(HIDDEN, LATENT, 5, 2, 2))
        self.deconv1 = deconv(w, "synthesis.deconv1", w.fixed(LATENT), 5, 2, 2, 1)
        self.deconv2 = deconv(w, "synthesis.deconv2", w["synthesis.deconv1"], 5, 2, 2, 1)
        self.prior = BitEstimator(LATENT)

    def decoder_inputs(self, height, width, batch=1, generator=None):
        shape = (batch, LATENT, height // 4, width // 4)
        return {"y_hat": (2 * torch.randn(*shape, generator=generator)).round()}

    def decode(self, y_hat):
        return {"x_hat": self.deconv2(F.leaky_relu(self.deconv1(y_hat), 0.1))}

    def forward(self, x):
        y_hat, likelihoods = self.prior(self.analysis(x), training=self.training)
        return {"x_hat": self.decode(y_hat)["x_hat"], "likelihoods": {"image": {"y": likelihoods}}}

    @torch.no_grad()
    def compress(self, x):
        update_all(self)
        y_hat = torch.round(self.analysis(x))
        return {"strings": {"image": {"y": self.prior.compress(y_hat)}}, "shape": tuple(y_hat.shape)}

    @torch.no_grad()
    def decompress(self, compressed):
        update_all(self)
        y_hat = self.prior.decompress(compressed["strings"]["image"]["y"], compressed["shape"])
        return self.decode(y_hat.to(self.deconv1.weight.device))


CODEC = Tiny
