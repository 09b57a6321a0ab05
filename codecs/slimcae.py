"""SlimCAE (Yang et al., "Slimmable Compressive Autoencoders for Practical Neural Image Compression",
CVPR 2021): a slimmable Ballé et al. (ICLR 2017) factorized-prior image codec.

The paper's main experiments (section 5.1) slim Ballé et al.'s CAE, "encoder: 3 conv, 3 GDN; decoder:
3 deconv, 3 IGDN", width 192, at the widths w in {48, 72, 96, 144, 192}; the hyperprior and context model
of its section 5.6 are an extension, not built here. Kernels and strides are Ballé et al.'s (and the
public SlimCAE code's, FireFYF/SlimCAE ``SlimCAE.py``, TensorFlow): 9x9 stride 4, 5x5 stride 2, 5x5
stride 2, so the latent ``y`` is at H/16 (``MULTIPLE = 16``)::

    analysis (encoder, not decoding cost)      synthesis (decoder: ``decode``)
    conv1 9x9 s4  3 -> w1, GDN                 IGDN(y), deconv1 5x5 s2  y -> d1
    conv2 5x5 s2  w1 -> w2, GDN                IGDN, deconv2 5x5 s2  d1 -> d2
    conv3 5x5 s2  w2 -> y (no bias), GDN       IGDN, deconv3 9x9 s4  d2 -> 3

PyTorch equivalents of the TensorFlow "same_zeros" layers: convs with padding k // 2; transposed convs
with padding k // 2 and output_padding stride - 1 (exactly x2 / x4). Parameter names are this file's
(the public code is TensorFlow: no checkpoint compatibility).

**Widths.** Every slimmable layer has one option set, SlimCAE's widths 192/144/96/72/48 of its full
width (``WIDTHS``); the paper's sub-CAEs (one width for every layer) are layouts of the space
(:meth:`SlimCAE.uniform_layout`). The latent's width (``analysis.conv3``) is SlimCAE's rate control
(Appendix B: the latent is structured in groups of channels 1-48, 49-72, ...): it is encoder-side but it
sets the decoder's input width, so it is searchable with the decoder layers; the other encoder layers
follow the decoder layer at the same resolution (``spaces/slimcae.yaml`` ties them).

**GDN variants** (section 3.4), a constructor choice ``gdn=``: ``"switch"`` (SwitchGDN, Eq. 2: one
GDN parameter set per width; the public code's choice and the default), ``"slim"`` (SlimGDN: one set,
narrower widths use its leading block), ``"slim+"`` (SlimGDN+: SlimGDN with four switchable
modulation scalars per width). The three count the same MACs (the C x C mixing of the built width).
The space and the commands build a codec with its layout only (the default variant); to search or train
another variant, write a codec file of your own, e.g.
``CODEC = type("SlimCAEPlus", (load_codec("slimcae"),), {"GDN": "slim+"})``.

**Entropy model.** Switchable (section 3.3): one factorized prior per latent width
(:class:`search.entropy.SwitchableBitEstimator`, the public DVC/FVC/DCVC ``BitEstimator`` with no
auxiliary loss). ``y`` gets uniform noise in training and is rounded in evaluation; ``compress`` codes the
rounded latent with CompressAI's rANS coder, so ``decompress`` gives exactly ``forward``'s x_hat in eval
mode. Masked channels of the latent (the supernet) are zeroed after quantisation and rated at 0 bits.

**Loss and lambdas.** The paper writes the loss ``D + lambda R`` (Eq. 1 and 3); its implementation
(footnote 7; the public code) optimises ``lambda * MSE + bpp`` with the MSE of images in [0, 1], which is
this project's ``R + lambda D`` (:func:`search.training.rd.rd_loss`) with the same lambda. A lambda of
the paper's Eq. 1 converts as ``lambda_ours = 1 / lambda_paper``. Per-width lambdas and their
scheduling (Algorithm 1): :mod:`search.training.lambda_scheduling`.

Complexity: every figure in ``profiles/slimcae@*.json`` is fvcore's count of ``decode`` (the synthesis
transform; the factorized prior has no MACs), never the paper's Table 2 (whose values are not used).
"""
from __future__ import annotations

from fractions import Fraction
from functools import partial
from typing import Mapping

import torch
import torch.nn as nn

from search.codec import Codec, Provenance, make_part
from search.entropy import SwitchableBitEstimator, quantize, update_all
from search.nn.blocks import GDNAnalysis, GDNSynthesis
from search.nn.layers import SlimGDN, SlimGDNPlus, SwitchableGDN
from search.nn.masks import apply_mask
from search.nn.widths import Layer, Width, Widths

FULL = 192
WIDTHS = (48, 72, 96, 144, 192)
"""SlimCAE's widths (section 5.1): the factors 0.25 / 0.375 / 0.5 / 0.75 / 1 of 192."""
FACTORS = tuple(Fraction(w, FULL) for w in WIDTHS)
IMAGE = 3
GDN_VARIANTS = ("switch", "slim", "slim+")

_ANALYSIS = [
    Layer("analysis.conv1", "C", FULL, arrow="↓↓", paper="", note="9x9, stride 4"),
    Layer("analysis.conv2", "C", FULL, arrow="↓", paper=""),
    Layer("analysis.conv3", "C", FULL, arrow="↓", paper="",
          note="the latent y: its width is SlimCAE's rate control"),
]
_SYNTHESIS = [
    Layer("synthesis.deconv1", "D", FULL, arrow="↑", paper="",
          note="its row also holds the IGDN on the latent y"),
    Layer("synthesis.deconv2", "D", FULL, arrow="↑", paper=""),
    Layer("synthesis.deconv3", "D", IMAGE, arrow="↑↑", fixed="image output", paper="",
          note="9x9, stride 4"),
]


def width_options(full: int) -> list[int]:
    """SlimCAE's widths of a layer of full width ``full`` (its factors of 192, rounded half up)."""
    return [int(f * full + Fraction(1, 2)) for f in FACTORS]


def gdn_layer(w: Widths, variant: str, width: Width, inverse: bool, row: str) -> nn.Module:
    """A GDN (or IGDN) on ``width`` in one of SlimCAE's variants (section 3.4)."""
    if variant == "switch":
        return SwitchableGDN(w, width, width_options(width.full), inverse, row=row)
    if variant == "slim":
        return SlimGDN(w, width, inverse, row=row)
    if variant == "slim+":
        return SlimGDNPlus(w, width, width_options(width.full), inverse, row=row)
    raise ValueError(f"gdn={variant!r}: expected one of {', '.join(GDN_VARIANTS)}")


class Analysis(GDNAnalysis):
    """The encoder: (conv, GDN) x 3, 3 -> y channels at H/16. The last conv has no bias, as in the public
    code (``use_bias=False``)."""

    def __init__(self, w: Widths, variant: str, prefix: str = "analysis"):
        super().__init__(w, prefix, w.fixed(IMAGE), [(9, 4, True), (5, 2, True), (5, 2, False)],
                         partial(gdn_layer, w, variant))


class Synthesis(GDNSynthesis):
    """The decoder: (IGDN, deconv) x 3, y channels at H/16 -> 3 channels at H.

    ``igdn1`` runs on the latent and belongs to row ``deconv1``; ``igdn2``/``igdn3`` follow
    ``deconv1``/``deconv2`` and belong to their rows."""

    def __init__(self, w: Widths, y: Width, variant: str, prefix: str = "synthesis"):
        super().__init__(w, prefix, y, [(5, 2, 2, 1), (5, 2, 2, 1), (9, 4, 4, 3)],
                         partial(gdn_layer, w, variant))


class SlimCAE(Codec):
    """SlimCAE at any width layout: ``forward``/``compress``/``decompress`` code one image; ``decode``
    (the synthesis transform) is the decoder side whose cost is profiled."""

    CODES = "image"
    LAYERS = _ANALYSIS + _SYNTHESIS
    TIES = ()  # no residual additions; the space ties the encoder to the decoder (not forced)
    MULTIPLE = 16
    PROVENANCE = Provenance(
        paper=('Yang et al., "Slimmable Compressive Autoencoders for Practical Neural Image '
               'Compression", CVPR 2021'),
        code="https://github.com/FireFYF/SlimCAE (TensorFlow)",
    )
    WIDTHS = WIDTHS
    GDN = "switch"
    # Training presets. PAPER: section 5.1: 240x240 crops, batch 8, lr 1e-4 (1e-3 for the entropy
    # model) for 1.2M iterations, halved for 200K more; lambda-scheduling adds 28K and fine-tuning runs
    # to 1.5M in all. The paper gives no lambda values: 512 is the public code's default (SlimCAE.py
    # --lambda 512, for lambda * MSE + bpp on [0, 1] images, i.e. ours); ASSUMED for the largest
    # sub-CAE. QUICK: a smoke-test scale (64 = 4 x MULTIPLE).
    QUICK = {"crop": 64, "batch": 4, "lr": 2e-4, "steps": 1000, "time_limit": 270.0}
    PAPER = {"crop": 240, "batch": 8, "lr": 1e-4, "steps": 1_500_000, "lambda": 512}

    def __init__(self, layout: Mapping[str, int] | None = None, gdn: str | None = None):
        super().__init__(layout)
        self.gdn_variant = self.GDN if gdn is None else gdn
        w = self.widths
        y = w["analysis.conv3"]
        self.analysis = Analysis(w, self.gdn_variant)
        self.synthesis = Synthesis(w, y, self.gdn_variant)
        self.entropy_bottleneck = SwitchableBitEstimator(w, y, width_options(y.full))

    @classmethod
    def uniform_layout(cls, width: int) -> dict[str, int]:
        """A sub-CAE of the paper: every slimmable layer at ``width`` (one of ``WIDTHS``)."""
        if width not in cls.WIDTHS:
            raise ValueError(f"width {width}: SlimCAE's widths are {list(cls.WIDTHS)}")
        return {l.key: l.full if l.fixed else width for l in cls.LAYERS}

    # -- the decoder side ----------------------------------------------------------------------------

    def decoder_inputs(self, height, width, batch=1, generator=None):
        """The quantised latent y_hat [B, y, H/16, W/16] at this layout."""
        y = self.widths.layout["analysis.conv3"]
        shape = (batch, y, height // 16, width // 16)
        return {"y_hat": (4 * torch.randn(*shape, generator=generator)).round()}

    def decode(self, y_hat):
        return {"x_hat": self.synthesis(y_hat)}

    def export_parts(self, height, width, batch=1, generator=None):
        """The synthesis transform (its GDNs: TorchScript traces them; scripting cannot)."""
        inputs = self.decoder_inputs(height, width, batch, generator)
        return [make_part(self, "synthesis", lambda p, y_hat: p.synthesis(y_hat), ["synthesis"],
                          inputs, ["x_hat"], "the synthesis transform")]

    # -- the whole codec -----------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> dict:
        """``{"x_hat", "likelihoods": {"image": {"y": ...}}}``: noise in training, rounding in eval."""
        y_w = self.widths["analysis.conv3"]
        y = self.analysis(x)
        y_hat = quantize(y, self.training)
        y_hat = apply_mask(y_hat, y_w.mask(self.widths.mix, y_hat))  # no noise in masked channels
        likelihoods = self.entropy_bottleneck.likelihood(y_hat)
        return {"x_hat": self.synthesis(y_hat), "likelihoods": {"image": {"y": likelihoods}}}

    @torch.no_grad()
    def compress(self, x: torch.Tensor) -> dict:
        """The rounded latent coded with CompressAI's rANS coder (tables built if missing; after
        changing weights call ``search.entropy.update_all(model, force=True)``)."""
        update_all(self)
        y = self.analysis(x)
        strings = self.entropy_bottleneck.current.compress(y)
        return {"strings": {"image": {"y": strings}}, "shape": tuple(y.shape[-2:])}

    @torch.no_grad()
    def decompress(self, compressed: dict) -> dict:
        update_all(self)
        strings = compressed["strings"]["image"]["y"]
        model = self.entropy_bottleneck.current
        y_hat = model.decompress(strings, (len(strings), model.channels, *compressed["shape"]))
        device = next(self.parameters()).device
        return {"x_hat": self.synthesis(y_hat.to(device))}


CODEC = SlimCAE
