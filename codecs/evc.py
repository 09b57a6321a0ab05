"""EVC (Wang et al., "EVC: Towards Real-Time Neural Image Compression with Mask Decay", ICLR 2023), the
whole image codec, its decoder transform slimmable.

Follows the public PyTorch code (microsoft/DCVC, ``DCVC-family/EVC/src/models``: ``image_model.py``
``EVC``, ``layers.py`` ``get_enc_dec_models``, ``hyperprior.py``, ``common_model.py``): module and
parameter names are theirs (``enc``, ``dec``, ``hyper_enc``, ``hyper_dec``, ``y_prior_fusion``,
``y_spatial_prior``, ``bit_estimator_z``, ``q_basic``, ``q_scale``), so the public checkpoints load
strictly: the full layout is ``EVC_LL``, and the layouts :meth:`EVC.model_layout` ``"M"``/``"S"`` have the
state-dict keys and shapes of ``EVC_LM``/``EVC_LS`` (tests/fixtures/evc_*_keys.yaml).

The decoder transform (``dec``; section 3.1, Fig. 3, Appendix A; C1..C4 the block widths at H/2..H/16)::

    dec.0  DepthConvBlock(C4)           DepthConv: 1x1 C4->d, LReLU, depth-wise 3x3 d, LReLU, 1x1 d->C4,
                                        LReLU, + x;  ConvFFN: 1x1 C4->f, ReLU, 1x1 f->C4, ReLU, + x
    dec.1  ResidualBlockUpsample(C4,C3) sub-pixel 1x1 C4->h (x2), LReLU, 3x3 h->C3, LReLU(0.1),
                                        + upsample: sub-pixel 1x1 C4->C3 (x2)
    dec.2  DepthConvBlock(C3)   dec.3 ResidualBlockUpsample(C3,C2)   dec.4 DepthConvBlock(C2)
    dec.5  ResidualBlockUpsample(C2,C1) dec.6 DepthConvBlock(C1)   dec.7 sub-pixel 1x1 C1->3 (x2)

The public models set the depth-wise width d = C, the FFN width f = 4C and the upsampling block's hidden
width h = its output C; Large / Medium / Small are C1..C4 = [192,192,192,192], [128,128,192,192],
[64,64,128,192] (section 3.1). Slimming follows the paper's mask decay (section 3.2): "in one residual
block, Mask #1 and #2 prune channels inside and outside the residual connection" (h and the output C),
"in the depth-conv block, Mask #1 determines channels of the depth convolution layer, while Mask #3
prunes representations between Conv #3 and #4" (d and f), the block outputs sharing one mask per level.
So a layout has one width per level trunk (C3, C2, C1: rows ``dec.{1,3,5}.upsample``, the shortcut that
sets the new trunk width; the main branch's last conv follows it through the addition) and one per inner
width (rows ``dec.k.block.0`` = d, ``dec.k.block.1`` = f, ``dec.{1,3,5}`` = h). C4 is the latent's width
N = 192, read by the hyperprior, the prior fusion and the dual spatial prior as well: every EVC model
keeps it, and here it is not a choice (the rows of ``dec.0`` print it as their trunk).

The entropy side, unchanged by EVC ("keeping other parts' architectures unchanged") and written as the
public ``hyperprior.py`` (its own DepthConv without activations after the depth-wise and last convs, and
a ConvFFN of width max(min(4C, 1024), 2C) with LReLU(0.1)): ``hyper_dec`` (two DepthConvBlockUpsample and
a DepthConvBlock at N), ``y_prior_fusion`` (N -> 2N -> 3N: q_step, scales, means), ``y_spatial_prior``
(4N -> 3N -> 2N -> 2N). They are decoding cost here (every decoder-side network counts, as for the other
codecs); the paper's Table 3 counts the decoder transform alone ("Decoder") and puts them in "Others".
``spaces/evc.yaml`` marks both: its module GMAC rows give the paper's figure (the decoder transform) and
its decoder total ours.

Rate control: one model for every rate (the "adjustable quantization step"): ``y`` is divided by
``q_step^ch * q_step^global`` = ``max(q_basic, 0.5) * q_scale``. ``q_scale`` in :meth:`EVC.forward` /
:meth:`EVC.compress` is either an ``int``, an index into the four learned anchors ``self.q_scale``
(``ANCHORS``; train anchor k with lambda ``LAMBDAS[k]``), or a float, the global step itself (the public
test interpolates log-linearly between the anchors' values).

Coding (``common_model.py`` ``forward_dual_prior``, ``compress_dual_prior``, ``decompress_dual_prior``):
z gets the factorized prior ``bit_estimator_z`` (:class:`search.entropy.BitEstimator`, the same ``f1..f4``
keys); y, divided by the fusion's q_step (at least 0.5), is coded in two checkerboard passes, channel
halves on complementary anchors, the second pass's Gaussian parameters from ``y_spatial_prior``; the
coded symbol is ``round(y - mean)`` under a zero-mean Gaussian (CompressAI's ``GaussianConditional``).
Differences from the public code: uniform noise instead of rounding in training (the public repository
has no training code; noise is applied before the checkerboard masks are re-applied, so masked positions
stay zero), likelihoods lower-bounded at 1e-9 (CompressAI) instead of ``-log2(p + 1e-5)`` clamped at 0,
CompressAI's scale table (0.11..256, 64 levels) instead of (0.11..64, 256 levels), CompressAI's rANS
instead of the public C++ coder, and ``decompress`` returns x_hat unclamped (equal to ``forward``'s).
Loaded with the public weights, ``forward`` gives the public model's x_hat exactly, and its bits with the
public formula (checked once against the public classes, outside this repository).

Complexity: every figure in ``profiles/evc@1920x1080.json`` is fvcore's count of ``decode`` at 1920x1088
(the public padding to 64), never the paper's (its MACs are not used). Parameter counts are checked
against Table 3 (``tests/test_codec_evc.py``): 3.375 / 2.331 / 1.141 M decoder parameters for L / M / S,
printed 3.38 / 2.33 / 1.14.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
import torch.nn as nn
from compressai.entropy_models import GaussianConditional
from compressai.ops.bound_ops import LowerBoundFunction

from search.codec import Codec, Provenance, make_part
from search.entropy import BitEstimator, quantize, update_all
from search.nn.layers import (SlimConv2d, SlimDepthwiseConv2d, SubPixelConv2d, nonpersistent_buffers)
from search.nn.widths import Layer, Width, WidthLike, Widths, total_now

N = 192                                   # the latent's channels (C4) and the hyperprior's width
ANCHORS = 4                               # learned global quantisation steps (q_scale)
MODELS = {"L": (192, 192, 192, 192), "M": (128, 128, 192, 192), "S": (64, 64, 128, 192)}
"""C1..C4 of the paper's Large / Medium / Small models (section 3.1; public EVC_LL, EVC_LM, EVC_LS)."""
IMAGE = 3
_ENTROPY = "EVC keeps the hyperprior and the spatial prior unchanged (section 3.1)"


def ffn_width(channels: int) -> int:
    """The public hyperprior ConvFFN's hidden width: max(min(4C, 1024), 2C)."""
    return max(min(channels * 4, 1024), channels * 2)


# -- the rows of the structure table ------------------------------------------------------------------

def _decoder_layers() -> list[Layer]:
    rows = []
    for level, (k, c) in enumerate([(0, 4), (2, 3), (4, 2), (6, 1)]):
        if k:
            rows += [Layer(f"dec.{k - 1}", "R", N, arrow="↑", paper="",
                           note=f"ResidualBlockUpsample: its hidden width (sub-pixel 1x1, then 3x3 to C{c})"),
                     Layer(f"dec.{k - 1}.upsample", "S", N, arrow="↑", paper="",
                           note=f"the shortcut sub-pixel 1x1 conv; its width is the trunk C{c}")]
        rows += [Layer(f"dec.{k}.block.0", "R", N, paper="",
                       note="DepthConv: 1x1, depth-wise 3x3, 1x1; its width is the depth-wise one"),
                 Layer(f"dec.{k}.block.1", "R", 4 * N, paper="",
                       note="ConvFFN: 1x1 to its width (4C), 1x1 back")]
    rows.append(Layer("dec.7", "S", IMAGE, arrow="↑", fixed="image output", paper="",
                      note="sub-pixel 1x1 conv to the 3 image channels"))
    return rows


#: the entropy-side DepthConvBlocks (prefix, in, out, upsampling), hyperprior.py's get_hyperprior and
#: get_dualprior with N = 192
_HYPER_DEC = [("hyper_dec.0", N, N, True), ("hyper_dec.1", N, N, True), ("hyper_dec.2", N, N, False)]
_FUSION = [("y_prior_fusion.0", N, 2 * N, False), ("y_prior_fusion.1", 2 * N, 3 * N, False)]
_SPATIAL = [("y_spatial_prior.0", 4 * N, 3 * N, False), ("y_spatial_prior.1", 3 * N, 2 * N, False),
            ("y_spatial_prior.2", 2 * N, 2 * N, False)]


def _entropy_layers(blocks: Sequence[tuple[str, int, int, bool]]) -> list[Layer]:
    rows = []
    for prefix, cin, cout, up in blocks:
        rows += [Layer(f"{prefix}.block.0", "R", cin, paper="", note="DepthConv (hyperprior.py)"),
                 Layer(f"{prefix}.block.1", "R", ffn_width(cout), paper="",
                       note="ConvFFN (hyperprior.py)")]
        if up:
            rows.append(Layer(f"{prefix}.block.2", "S", cout, arrow="↑", fixed=_ENTROPY, paper="",
                              note="1x1 conv to 4C, PixelShuffle x2"))
    return rows


# -- convolutions: slimmable (decoder side) or the public code's plain ones (encoder side) -------------

class Convs:
    """Makes the convolutions of EVC's blocks from :class:`Width` s: slimmable modules recording their
    report row (``w`` given), or the public code's plain ``nn.Conv2d`` at the widths' values (the encoder
    side, full width, not searched). Blocks are written once for both."""

    def __init__(self, w: Widths | None = None):
        self.w = w

    def conv(self, cin: WidthLike, cout: Width, k: int, stride: int = 1, row: str = "") -> nn.Module:
        if self.w is None:
            return nn.Conv2d(total_now(cin), cout.now, k, stride, k // 2)
        return SlimConv2d(self.w, cin, cout, k, stride, k // 2, row=row)

    def depthwise(self, width: Width, row: str = "") -> nn.Module:
        if self.w is None:
            return nn.Conv2d(width.now, width.now, 3, padding=1, groups=width.now)
        return SlimDepthwiseConv2d(self.w, width, 3, row=row)

    def subpel(self, cin: Width, cout: Width, row: str = "") -> nn.Module:
        """``subpel_conv1x1``: 1x1 conv to 4 x ``cout`` channels, PixelShuffle(2)."""
        if self.w is None:
            return nn.Sequential(nn.Conv2d(cin.now, cout.now * 4, 1), nn.PixelShuffle(2))
        return SubPixelConv2d(self.w, cin, cout, 2, 1, row=row)

    def record(self, row: str, *numbers: Width) -> None:
        if self.w is not None:
            self.w.row(row, *numbers)


# -- blocks (public names) ------------------------------------------------------------------------------

class DepthConv(nn.Module):
    """``DepthConv``: conv1 (1x1) + LReLU, depth_conv (3x3 depth-wise), conv2 (1x1), plus the input (an
    ``adaptor`` 1x1 conv when the width changes). ``activated``: the enc/dec version (``layers.py``:
    LReLU after depth_conv and conv2 too, keys ``depth_conv.0``/``conv2.0``); otherwise the hyperprior
    version (``hyperprior.py``: bare ``depth_conv``/``conv2``)."""

    def __init__(self, mk: Convs, cin: Width, cout: Width, hidden: Width, row: str, activated: bool):
        super().__init__()
        self.conv1 = nn.Sequential(mk.conv(cin, hidden, 1, row=row), nn.LeakyReLU())
        depth, conv2 = mk.depthwise(hidden, row=row), mk.conv(hidden, cout, 1, row=row)
        self.depth_conv = nn.Sequential(depth, nn.LeakyReLU()) if activated else depth
        self.conv2 = nn.Sequential(conv2, nn.LeakyReLU()) if activated else conv2
        self.adaptor = None if cin.full == cout.full else mk.conv(cin, cout, 1, row=row)
        mk.record(row, cout, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.adaptor is None else self.adaptor(x)
        return self.conv2(self.depth_conv(self.conv1(x))) + identity


class ConvFFN(nn.Module):
    """``ConvFFN``: 1x1 to the hidden width, activation, 1x1 back, activation, plus the input. ReLU in
    the enc/dec version (``layers.py``), LeakyReLU(0.1) in the hyperprior's."""

    def __init__(self, mk: Convs, trunk: Width, hidden: Width, row: str, leaky: bool):
        super().__init__()
        act = (lambda: nn.LeakyReLU(0.1)) if leaky else nn.ReLU
        self.conv = nn.Sequential(mk.conv(trunk, hidden, 1, row=row), act(),
                                  mk.conv(hidden, trunk, 1, row=row), act())
        mk.record(row, trunk, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class DepthConvBlock(nn.Module):
    """``DepthConvBlock(in, out)``: DepthConv then ConvFFN (``block.0``, ``block.1``); with ``upsample``
    the hyperprior's ``DepthConvBlockUpsample`` (``block.2`` 1x1 conv to 4 x out, ``block.3``
    PixelShuffle(2)). ``hyper``: the hyperprior.py versions of the parts."""

    def __init__(self, mk: Convs, prefix: str, cin: Width, cout: Width, hidden: Width, ffn: Width,
                 hyper: bool = False, upsample: bool = False):
        super().__init__()
        parts = [DepthConv(mk, cin, cout, hidden, f"{prefix}.block.0", activated=not hyper),
                 ConvFFN(mk, cout, ffn, f"{prefix}.block.1", leaky=hyper)]
        if upsample:
            parts += [mk.conv(cout, cout * 4, 1, row=f"{prefix}.block.2"), nn.PixelShuffle(2)]
            mk.record(f"{prefix}.block.2", cout, cout)
        self.block = nn.Sequential(*parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ResidualBlockUpsample(nn.Module):
    """``ResidualBlockUpsample(in, out)``: subpel_conv (1x1, x2) to the hidden width, LReLU, conv 3x3 to
    ``out``, LReLU(0.1), plus ``upsample`` (1x1 sub-pixel shortcut to ``out``). Row ``prefix`` holds
    the main branch, R(out, hidden); row ``prefix.upsample`` the shortcut, S(in, out)."""

    def __init__(self, mk: Convs, prefix: str, cin: Width, cout: Width, hidden: Width):
        super().__init__()
        self.subpel_conv = mk.subpel(cin, hidden, row=prefix)
        self.leaky_relu = nn.LeakyReLU()
        self.conv = mk.conv(hidden, cout, 3, row=prefix)
        self.leaky_relu2 = nn.LeakyReLU(negative_slope=0.1)
        self.upsample = mk.subpel(cin, cout, row=f"{prefix}.upsample")
        mk.record(prefix, cout, hidden)
        mk.record(f"{prefix}.upsample", cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.leaky_relu2(self.conv(self.leaky_relu(self.subpel_conv(x))))
        return out + self.upsample(x)


class ResidualBlockWithStride(nn.Module):
    """``ResidualBlockWithStride(in, out)`` (encoder only): conv1 3x3 s2, LReLU, conv2 3x3, LReLU(0.1),
    plus downsample (1x1 s2)."""

    def __init__(self, mk: Convs, cin: Width, cout: Width):
        super().__init__()
        self.conv1 = mk.conv(cin, cout, 3, 2)
        self.leaky_relu = nn.LeakyReLU()
        self.conv2 = mk.conv(cout, cout, 3)
        self.leaky_relu2 = nn.LeakyReLU(negative_slope=0.1)
        self.downsample = mk.conv(cin, cout, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.leaky_relu2(self.conv2(self.leaky_relu(self.conv1(x))))
        return out + self.downsample(x)


# -- the transforms ---------------------------------------------------------------------------------------

def decoder(w: Widths) -> nn.Sequential:
    """``get_enc_dec_models(3, 3, channels)[1]`` at the layout's widths."""
    mk, trunk = Convs(w), Widths.fixed(N)
    blocks = [DepthConvBlock(mk, "dec.0", trunk, trunk, w["dec.0.block.0"], w["dec.0.block.1"])]
    for k in (1, 3, 5):
        out = w[f"dec.{k}.upsample"]
        blocks.append(ResidualBlockUpsample(mk, f"dec.{k}", trunk, out, w[f"dec.{k}"]))
        blocks.append(DepthConvBlock(mk, f"dec.{k + 1}", out, out, w[f"dec.{k + 1}.block.0"],
                                     w[f"dec.{k + 1}.block.1"]))
        trunk = out
    blocks.append(mk.subpel(trunk, w["dec.7"], row="dec.7"))
    mk.record("dec.7", trunk, w["dec.7"])
    return nn.Sequential(*blocks)


def encoder(channels: Sequence[int]) -> nn.Sequential:
    """``get_enc_dec_models(3, 3, channels)[0]``: plain, at full width (not searched)."""
    mk = Convs()
    c = [Widths.fixed(IMAGE)] + [Widths.fixed(ch) for ch in channels]
    blocks = []
    for i in range(3):
        blocks += [ResidualBlockWithStride(mk, c[i], c[i + 1]),
                   DepthConvBlock(mk, "", c[i + 1], c[i + 1], c[i + 1], c[i + 1] * 4)]
    blocks.append(mk.conv(c[3], c[4], 3, 2))
    return nn.Sequential(*blocks)


def entropy_network(w: Widths, blocks: Sequence[tuple[str, int, int, bool]]) -> nn.Sequential:
    """A decoder-side hyperprior network (hyper_dec, y_prior_fusion, y_spatial_prior), its rows fixed."""
    mk = Convs(w)
    return nn.Sequential(*(
        DepthConvBlock(mk, prefix, Widths.fixed(cin), Widths.fixed(cout), w[f"{prefix}.block.0"],
                       w[f"{prefix}.block.1"], hyper=True, upsample=up)
        for prefix, cin, cout, up in blocks))


def hyper_encoder() -> nn.Sequential:
    """``get_hyperprior(N)[0]``: DepthConvBlock(N, N), Conv 3x3 s2, LReLU, Conv 3x3 s2 (plain)."""
    n = Widths.fixed(N)
    return nn.Sequential(DepthConvBlock(Convs(), "", n, n, n, Widths.fixed(ffn_width(N)), hyper=True),
                         nn.Conv2d(N, N, 3, stride=2, padding=1), nn.LeakyReLU(),
                         nn.Conv2d(N, N, 3, stride=2, padding=1))


def checkerboard(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``get_mask``: mask_0 is 1 where (row + column) is even, mask_1 its complement ([1, 1, H, W])."""
    height, width = like.shape[-2:]
    micro = torch.tensor(((1, 0), (0, 1)), dtype=like.dtype, device=like.device)
    mask_0 = micro.repeat(height // 2, width // 2)[None, None]
    return mask_0, 1 - mask_0


class EVC(Codec):
    """EVC at any width layout of its decoder transform: ``forward(x, q_scale)``, ``compress``,
    ``decompress`` code one image; ``decode`` is the decoder side (hyperprior decoder, prior fusion,
    dual spatial prior and the decoder transform) whose cost is profiled."""

    CODES = "image"
    LAYERS = (_decoder_layers() + _entropy_layers(_HYPER_DEC) + _entropy_layers(_FUSION)
              + _entropy_layers(_SPATIAL))
    TIES = ()  # the residual additions join outputs of one Width (a level's trunk): nothing to tie
    MULTIPLE = 64  # the public get_padding_size(p=64); z is at H/64
    PROVENANCE = Provenance(
        paper='Wang et al., "EVC: Towards Real-Time Neural Image Compression with Mask Decay", ICLR 2023',
        code="https://github.com/microsoft/DCVC (DCVC-family/EVC)",
    )
    RESIDUAL_NOTATION = ("trunk", "hidden")
    ANCHORS = ANCHORS
    # The public scalable-encoder code's lambdas (ScalableEnc.lmbdas, for lambda * 255^2 * MSE + bpp)
    # times 255^2: ours (R + lambda * MSE on [0, 1] images), one per q_scale anchor.
    LAMBDAS = (0.0022 * 255 ** 2, 0.0050 * 255 ** 2, 0.012 * 255 ** 2, 0.027 * 255 ** 2)
    # Training presets. PAPER: Appendix D: 256x256 crops of Vimeo-90K, AdamW, batch 16, lr 2e-4, 200
    # epochs; the steps are ASSUMED as 200 epochs of the 64,612 septuplets of Vimeo-90K's training list,
    # one crop each (the paper counts epochs, not steps), and lambda the largest anchor's.
    # The quick main job fine-tunes each chosen and uniform architecture 5 steps, not the preset's 20:
    # an EVC step is several times a SlimCAE step on 2 CPU cores (the verdict's fine-tuning is shorter,
    # alike for both sides).
    QUICK = {"crop": 64, "batch": 4, "lr": 2e-4, "steps": 1000, "time_limit": 270.0, "finetune_steps": 5}
    PAPER = {"crop": 256, "batch": 16, "lr": 2e-4, "steps": 200 * 64612 // 16, "lambda": LAMBDAS[-1]}

    def __init__(self, layout: Mapping[str, int] | None = None):
        super().__init__(layout)
        w = self.widths
        self.bit_estimator_z = BitEstimator(N)
        self.gaussian_encoder = GaussianConditional(None)
        nonpersistent_buffers(self.gaussian_encoder)
        self.enc, self.dec = encoder(MODELS["L"]), decoder(w)
        self.hyper_enc = hyper_encoder()
        self.hyper_dec = entropy_network(w, _HYPER_DEC)
        self.y_prior_fusion = entropy_network(w, _FUSION)
        self.y_spatial_prior = entropy_network(w, _SPATIAL)
        self.q_basic = nn.Parameter(torch.ones((1, N, 1, 1)))
        self.q_scale = nn.Parameter(torch.ones((ANCHORS, 1, 1, 1)))

    @classmethod
    def model_layout(cls, name: str) -> dict[str, int]:
        """The layout of the paper's Large / Medium / Small decoder (``"L"``, ``"M"``, ``"S"``): the
        public ``get_enc_dec_models`` with C1..C4 = ``MODELS[name]`` (d = C, f = 4C, h = C)."""
        if name not in MODELS:
            raise ValueError(f"model {name!r}: expected one of {', '.join(MODELS)}")
        c1, c2, c3, c4 = MODELS[name]
        if c4 != N:
            raise ValueError(f"C4 = {c4}: the latent's width is {N} in this codec")
        layout = cls.full_layout()
        for k, c in ((0, c4), (2, c3), (4, c2), (6, c1)):
            layout[f"dec.{k}.block.0"], layout[f"dec.{k}.block.1"] = c, 4 * c
        for k, c in ((1, c3), (3, c2), (5, c1)):
            layout[f"dec.{k}"] = layout[f"dec.{k}.upsample"] = c
        return layout

    # -- decoder-side steps, shared by decode (profiling), forward and decompress ------------------

    def curr_q(self, q_scale: int | float | torch.Tensor) -> torch.Tensor:
        """``q_step^ch * q_step^global``: ``max(q_basic, 0.5)`` (the public LowerBound) times the anchor
        ``self.q_scale[q_scale]`` (an int) or ``q_scale`` itself (a float or tensor). [1, N, 1, 1]."""
        if isinstance(q_scale, int) and not isinstance(q_scale, bool):
            if not 0 <= q_scale < self.ANCHORS:
                raise ValueError(f"q_scale index {q_scale}: EVC has anchors 0..{self.ANCHORS - 1}")
            scale = self.q_scale[q_scale]
        else:
            scale = torch.as_tensor(q_scale, dtype=self.q_basic.dtype, device=self.q_basic.device)
        bound = torch.tensor(0.5, dtype=self.q_basic.dtype, device=self.q_basic.device)
        return LowerBoundFunction.apply(self.q_basic, bound) * scale

    def prior(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``separate_prior(y_prior_fusion(hyper_dec(z_hat)))``: q_step (at least 0.5), scales, means."""
        q_step, scales, means = self.y_prior_fusion(self.hyper_dec(z_hat)).chunk(3, 1)
        return torch.clamp_min(q_step, 0.5), scales, means

    def spatial_params(self, anchors: torch.Tensor, q_step, scales, means):
        """The second pass's (scales_0, means_0, scales_1, means_1) from the first pass's decoded
        anchors ``cat(y_hat_0 * mask_0, y_hat_1 * mask_1)``."""
        return self.y_spatial_prior(torch.cat((anchors, means, scales, q_step), 1)).chunk(4, 1)

    def reconstruct(self, y_hat: torch.Tensor, q_step: torch.Tensor, curr_q: torch.Tensor):
        """``dec(y_hat * q_step * curr_q)``: y_hat in the spatial prior's units, back to the
        decoder's."""
        return self.dec(y_hat * q_step * curr_q)

    def decoder_inputs(self, height, width, batch=1, generator=None):
        """Quantised z_hat [B, N, H/64, W/64] and y_hat [B, N, H/16, W/16] (in the prior's units)."""
        def rand(s):
            return (4 * torch.randn(batch, N, height // s, width // s, generator=generator)).round()
        return {"z_hat": rand(64), "y_hat": rand(16)}

    def decode(self, z_hat, y_hat):
        q_step, scales, means = self.prior(z_hat)
        mask_0, mask_1 = checkerboard(y_hat)
        y_0, y_1 = y_hat.chunk(2, 1)
        spatial = self.spatial_params(torch.cat((y_0 * mask_0, y_1 * mask_1), 1), q_step, scales, means)
        x_hat = self.reconstruct(y_hat, q_step, self.curr_q(0))
        return {"x_hat": x_hat, "q_step": q_step, "scales": scales, "means": means,
                "spatial": torch.cat(spatial, 1)}

    def export_parts(self, height, width, batch=1, generator=None):
        """Hyper decoder with prior fusion, the dual spatial prior's second pass, the decoder
        transform (``curr_q``, the rate's quantisation step, is an input: :meth:`curr_q`)."""
        inputs = self.decoder_inputs(height, width, batch, generator)
        z_hat, y_hat = inputs["z_hat"], inputs["y_hat"]
        with torch.no_grad():
            q_step, scales, means = self.prior(z_hat)
            mask_0, mask_1 = checkerboard(y_hat)
            y_0, y_1 = y_hat.chunk(2, 1)
            anchors = torch.cat((y_0 * mask_0, y_1 * mask_1), 1)
            curr_q = self.curr_q(0)
        cls = type(self)

        def spatial(p, anchors, q_step, scales, means):
            return torch.cat(cls.spatial_params(p, anchors, q_step, scales, means), 1)
        return [
            make_part(self, "prior", cls.prior, ["hyper_dec", "y_prior_fusion"], {"z_hat": z_hat},
                      ["q_step", "scales", "means"], "hyper decoder and prior fusion"),
            make_part(self, "spatial_prior", spatial, ["y_spatial_prior"],
                      {"anchors": anchors, "q_step": q_step, "scales": scales, "means": means},
                      ["spatial"], "the dual spatial prior's second pass from the decoded anchors"),
            make_part(self, "decoder", cls.reconstruct, ["dec"],
                      {"y_hat": y_hat, "q_step": q_step, "curr_q": curr_q}, ["x_hat"],
                      "the decoder transform"),
        ]

    # -- the whole codec -----------------------------------------------------------------------------

    def _encode(self, x: torch.Tensor, curr_q: torch.Tensor, training: bool):
        """y (divided by the global step) and its quantised hyper latent z_hat."""
        y = self.enc(x) / curr_q
        return y, quantize(self.hyper_enc(y), training)

    @staticmethod
    def _masked(y, scales, means, mask, training):
        """``process_with_mask``: (symbols y_q, y_hat = y_q + means, scales) on ``mask``'s positions."""
        scales_hat, means_hat = scales * mask, means * mask
        y_q = quantize((y - means_hat) * mask, training) * mask
        return y_q, y_q + means_hat, scales_hat

    def dual_prior(self, y, q_step, scales, means, training):
        """``forward_dual_prior``: the symbols, y_hat (prior units, before the q_step), the scales, and
        the two coding passes' (symbols, scales)."""
        mask_0, mask_1 = checkerboard(y)
        y_0, y_1 = (y / q_step).chunk(2, 1)
        (s_0, s_1), (m_0, m_1) = scales.chunk(2, 1), means.chunk(2, 1)
        q00, h00, s00 = self._masked(y_0, s_0, m_0, mask_0, training)
        q11, h11, s11 = self._masked(y_1, s_1, m_1, mask_1, training)
        s_0, m_0, s_1, m_1 = self.spatial_params(torch.cat((h00, h11), 1), q_step, scales, means)
        q01, h01, s01 = self._masked(y_0, s_0, m_0, mask_1, training)
        q10, h10, s10 = self._masked(y_1, s_1, m_1, mask_0, training)
        return {"y_q": torch.cat((q00 + q01, q11 + q10), 1),
                "y_hat": torch.cat((h00 + h01, h11 + h10), 1),
                "scales": torch.cat((s00 + s01, s11 + s10), 1),
                "passes": ((q00 + q11, s00 + s11), (q01 + q10, s01 + s10))}

    def _gaussian_likelihood(self, y_q, scales):
        gc = self.gaussian_encoder
        p = gc._likelihood(y_q, scales)
        return gc.likelihood_lower_bound(p) if gc.use_likelihood_bound else p

    def forward(self, x: torch.Tensor, q_scale: int | float | torch.Tensor = 0) -> dict:
        """``{"x_hat", "likelihoods": {"image": {"y", "z"}}}`` at the rate ``q_scale`` (an anchor index
        or a global quantisation step): noise in training, rounding in eval."""
        curr_q = self.curr_q(q_scale)
        y, z_hat = self._encode(x, curr_q, self.training)
        q_step, scales, means = self.prior(z_hat)
        coded = self.dual_prior(y, q_step, scales, means, self.training)
        likelihoods = {"y": self._gaussian_likelihood(coded["y_q"], coded["scales"]),
                       "z": self.bit_estimator_z.likelihood(z_hat)}
        return {"x_hat": self.reconstruct(coded["y_hat"], q_step, curr_q),
                "likelihoods": {"image": likelihoods}}

    @torch.no_grad()
    def compress(self, x: torch.Tensor, q_scale: int | float | torch.Tensor = 0) -> dict:
        """Strings ``z`` (factorized), ``y0`` and ``y1`` (the two checkerboard passes, CompressAI's
        rANS); builds the coder tables if missing (after changing weights call
        ``search.entropy.update_all(model, force=True)``)."""
        update_all(self)
        y, z_hat = self._encode(x, self.curr_q(q_scale), False)
        coded = self.dual_prior(y, *self.prior(z_hat), False)
        gc = self.gaussian_encoder
        strings = {"z": self.bit_estimator_z.compress(z_hat)}
        for name, (symbols, scales) in zip(("y0", "y1"), coded["passes"]):
            strings[name] = gc.compress(symbols, gc.build_indexes(scales))
        return {"strings": {"image": strings}, "shape": tuple(z_hat.shape[-2:]), "q_scale": q_scale}

    @torch.no_grad()
    def decompress(self, compressed: dict) -> dict:
        update_all(self)
        strings, gc = compressed["strings"]["image"], self.gaussian_encoder
        device = self.q_basic.device
        shape = (len(strings["z"]), N, *compressed["shape"])
        z_hat = self.bit_estimator_z.decompress(strings["z"], shape).to(device)
        q_step, scales, means = self.prior(z_hat)
        mask_0, mask_1 = checkerboard(q_step)
        (s_0, s_1), (m_0, m_1) = scales.chunk(2, 1), means.chunk(2, 1)
        first = gc.decompress(strings["y0"], gc.build_indexes(s_0 * mask_0 + s_1 * mask_1)).to(device)
        h00, h11 = (first + m_0) * mask_0, (first + m_1) * mask_1
        s_0, m_0, s_1, m_1 = self.spatial_params(torch.cat((h00, h11), 1), q_step, scales, means)
        second = gc.decompress(strings["y1"], gc.build_indexes(s_0 * mask_1 + s_1 * mask_0)).to(device)
        h01, h10 = (second + m_0) * mask_1, (second + m_1) * mask_0
        y_hat = torch.cat((h00 + h01, h11 + h10), 1)
        return {"x_hat": self.reconstruct(y_hat, q_step, self.curr_q(compressed["q_scale"]))}


CODEC = EVC
