"""FVC (Hu et al., "FVC: A New Framework towards Deep Video Compression in Feature Space", CVPR 2021),
decoder side.

Follows the official PyTorch code (ZhihaoHu/PyTorchVideoCompression, ``FVC/``): module and parameter
names are theirs (``Encoder``, ``aligner``, ``resDecoder``, ``Decoder``, ``OffsetPriorDecoder``,
``resPriorDecoder``, ``EntropyCoding_offsetf``/``EntropyCoding_residualf``), so their checkpoints load
strictly on the decoder keys. Channel constants of that code (``FVC/subnet/basics.py``):
out_channel_M=64 (features), out_channel_resN=out_channel_resM=out_channel_mv=128 (latents).

Decoding (``FVC/net.py`` ``AlignMultiFeature``/``AddResidual``/``forward``)::

    ref_feature = Encoder(ref)                               # 3 ch @ H -> 64 ch @ H/2 (runs at the decoder)
    offset_feat = aligner.offset_decoder(q_offset)           # 128 ch @ H/16 -> 64 ch @ H/2
    aligned = aligner.deformable_convolution([ref_feature, offset_feat])   # DCNv1, 8 groups
    aligned = aligned + lrelu(refine_conv2(lrelu(refine_conv1(cat(aligned, ref_feature)))))
    recon_feature = aligned + resDecoder(q_res)              # 128 ch @ H/16 -> 64 ch @ H/2
    x_hat = Decoder(recon_feature)                           # 64 ch @ H/2 -> 3 ch @ H

and, for the entropy model of the two latents (``FVC/subnet/bitEstimator.py``
``NIPS18nocEntropyCoder``)::

    musigma = EntropyCoding_offsetf.parameters_net(OffsetPriorDecoder(q_offset_z))   # 256 ch @ H/16
    mu, sigma = musigma[:, :128], musigma[:, 128:] ** 2        # Gaussian of q_offset (same for q_res)

Where the code and cgSlimDecoder's Table S2 differ, ``Layer.paper`` keeps the table's notation; the
table omits the deformable convolution and its offset convolution (``paper=""``), and the entropy
networks (hyper decoders, parameter nets) are not in it at all.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from search.codec import Codec
from search.slim import Resblocks, SlimConv2d, SlimConvTranspose2d, SlimDeformConv2d
from search.widths import Layer, Width, Widths

NF, MV, RES = 64, 128, 128          # out_channel_M, out_channel_mv, out_channel_resN/resM
GROUPS = 8                          # deformable groups of PCD_Align's DCNv1
OFFSETS = GROUPS * 2 * 3 * 3        # 144 offsets of a 3x3 DCN


def _latent_decoder_layers(prefix: str) -> list[Layer]:
    """``OffsetDecodeNet`` / ``ResDecodeNet``: D↑ R D↑ R D(128,64)↑."""
    return [
        Layer(f"{prefix}.deconv1", "D", 128, arrow="↑"),
        Layer(f"{prefix}.res1", "R", 128),
        Layer(f"{prefix}.deconv2", "D", 128, arrow="↑"),
        Layer(f"{prefix}.res2", "R", 128),
        Layer(f"{prefix}.deconv3", "D", NF, arrow="↑"),
    ]


_FE_LAYERS = [
    Layer("Encoder.conv1", "C", NF, arrow="↓"),
    Layer("Encoder.feature_extraction", "R", NF),
]

_MC_LAYERS = [
    Layer("aligner.deformable_convolution.conv_offset", "C", OFFSETS,
          fixed="DCN offsets (8 deformable groups x 2 x 3x3)", paper="",
          note="offset conv of the deformable convolution; the table omits it"),
    Layer("aligner.deformable_convolution", "DC", NF, paper="",
          note="DCNv1 (DeformConvPack, 8 deformable groups, no bias); the table omits it"),
    Layer("aligner.refine_conv1", "C", NF),
    Layer("aligner.refine_conv2", "C", NF),
]

_RECON_LAYERS = [
    Layer("Decoder.recon_trunk", "R", NF),
    Layer("Decoder.deconv1", "D", 3, arrow="↑", fixed="image output", paper="C(64,3)↑",
          note="the public code ends with ConvTranspose2d(64,3,5,s2,p2,op1), not a conv + upsample"),
]


def _prior_layers(prefix: str) -> list[Layer]:
    """``OffsetPriorDecodeNet`` / ``ResPriorDecodeNet`` (hyper decoders, not in the paper's table)."""
    return [
        Layer(f"{prefix}.deconv1", "D", MV, arrow="↑", paper=""),
        Layer(f"{prefix}.deconv2", "D", MV * 3 // 2, arrow="↑", paper=""),
        Layer(f"{prefix}.deconv3", "D", MV * 2, fixed="entropy parameters (hyper prior)", paper=""),
    ]


def _param_layers(prefix: str) -> list[Layer]:
    """``Parameter_net`` of ``NIPS18nocEntropyCoder`` (1x1 convs, not in the paper's table)."""
    return [
        Layer(f"{prefix}.conv1", "C", 512, paper=""),
        Layer(f"{prefix}.conv2", "C", 512, paper=""),
        Layer(f"{prefix}.res0", "R", 512, paper="", note="Resblocks(512, ks=1): 1x1 convs"),
        Layer(f"{prefix}.conv3", "C", MV * 2, fixed="entropy parameters (mean, scale)", paper=""),
    ]


class FeatureEncoder(nn.Module):
    """``FeatureEncoder``: Conv 5x5 s2 (no activation; its ``lrelu`` is unused), ``Resblocks(64)``."""

    def __init__(self, w: Widths, prefix: str = "Encoder"):
        super().__init__()
        width = w[f"{prefix}.conv1"]
        self.conv1 = SlimConv2d(w, w.fixed(3), width, 5, 2, 2, row=f"{prefix}.conv1")
        w.row(f"{prefix}.conv1", w.fixed(3), width)
        self.feature_extraction = Resblocks(w, width, w[f"{prefix}.feature_extraction"],
                                            row=f"{prefix}.feature_extraction")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_extraction(self.conv1(x))


class LatentDecoder(nn.Module):
    """``OffsetDecodeNet`` / ``ResDecodeNet``: ConvT 5x5 s2 (p2, op1), ``Resblocks(128)``, twice, then
    ConvT 5x5 s2 to 64 channels. No activations."""

    def __init__(self, w: Widths, prefix: str, in_channels: int):
        super().__init__()
        width_in = w.fixed(in_channels)
        for i in (1, 2, 3):
            key = f"{prefix}.deconv{i}"
            setattr(self, f"deconv{i}", SlimConvTranspose2d(w, width_in, w[key], 5, 2, 2, 1, row=key))
            w.row(key, width_in, w[key])
            if i < 3:
                setattr(self, f"res{i}", Resblocks(w, w[key], w[f"{prefix}.res{i}"],
                                                   row=f"{prefix}.res{i}"))
            width_in = w[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.res1(self.deconv1(x))
        x = self.res2(self.deconv2(x))
        return self.deconv3(x)


class PCDAlign(nn.Module):
    """The decoder side of ``PCD_Align`` (``MotionCompensation``): offset decoder, DCNv1 on the reference
    feature with offsets from ``conv_offset(offset features)``, then the refinement
    ``aligned + lrelu(refine_conv2(lrelu(refine_conv1(cat(aligned, ref_feature)))))`` (LeakyReLU 0.1).
    The encoder-side ``offset_conv1``/``offset_conv3``/``offset_encoder`` are not built."""

    def __init__(self, w: Widths, ref: Width, prefix: str = "aligner"):
        super().__init__()
        self.offset_decoder = LatentDecoder(w, f"{prefix}.offset_decoder", MV)
        offset_feat = w[f"{prefix}.offset_decoder.deconv3"]
        dcn_key = f"{prefix}.deformable_convolution"
        aligned = w[dcn_key]
        self.deformable_convolution = SlimDeformConv2d(
            w, ref, aligned, offset_feat, 3, GROUPS, row=dcn_key, offset_row=f"{dcn_key}.conv_offset")
        w.row(f"{dcn_key}.conv_offset", offset_feat, w[f"{dcn_key}.conv_offset"])
        w.row(dcn_key, ref, aligned)
        k1, k2 = f"{prefix}.refine_conv1", f"{prefix}.refine_conv2"
        self.refine_conv1 = SlimConv2d(w, [aligned, ref], w[k1], 3, row=k1)
        w.row(k1, [aligned, ref], w[k1])
        self.refine_conv2 = SlimConv2d(w, w[k1], w[k2], 3, row=k2)
        w.row(k2, w[k1], w[k2])

    def forward(self, ref_feature: torch.Tensor, q_offset: torch.Tensor) -> torch.Tensor:
        offset_feat = self.offset_decoder(q_offset)
        aligned = self.deformable_convolution(ref_feature, offset_feat)
        refine = F.leaky_relu(self.refine_conv1(torch.cat([aligned, ref_feature], 1)), 0.1)
        refine = F.leaky_relu(self.refine_conv2(refine), 0.1)
        return aligned + refine


class FeatureDecoder(nn.Module):
    """``FeatureDecoder``: ``Resblocks(64)``, then ConvTranspose2d(64, 3, 5, s2, p2, op1)."""

    def __init__(self, w: Widths, trunk: Width, prefix: str = "Decoder"):
        super().__init__()
        self.recon_trunk = Resblocks(w, trunk, w[f"{prefix}.recon_trunk"], row=f"{prefix}.recon_trunk")
        key = f"{prefix}.deconv1"
        self.deconv1 = SlimConvTranspose2d(w, trunk, w[key], 5, 2, 2, 1, row=key)
        w.row(key, trunk, w[key])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv1(self.recon_trunk(x))


class PriorDecoder(nn.Module):
    """``OffsetPriorDecodeNet`` / ``ResPriorDecodeNet``: ConvT 5x5 s2 + LeakyReLU(0.2), ConvT 5x5 s2 +
    LeakyReLU(0.2), ConvT 3x3 s1 (128 -> 128 -> 192 -> 256)."""

    def __init__(self, w: Widths, prefix: str):
        super().__init__()
        width_in = w.fixed(MV)
        for i, (k, s) in enumerate([(5, 2), (5, 2), (3, 1)], 1):
            key = f"{prefix}.deconv{i}"
            setattr(self, f"deconv{i}", SlimConvTranspose2d(w, width_in, w[key], k, s, row=key))
            w.row(key, width_in, w[key])
            width_in = w[key]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.deconv1(z), 0.2)
        x = F.leaky_relu(self.deconv2(x), 0.2)
        return self.deconv3(x)


class ResidualBlock1x1(nn.Module):
    """``ResidualBlock_noBN(nf, ks=1)``: conv1 1x1, ReLU, conv2 1x1, plus identity."""

    def __init__(self, w: Widths, trunk: Width, hidden: Width, *, row: str):
        super().__init__()
        self.conv1 = SlimConv2d(w, trunk, hidden, 1, row=row)
        self.conv2 = SlimConv2d(w, hidden, trunk, 1, row=row)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class Resblocks1x1(nn.Module):
    """``Resblocks(nf, ks=1)``: three 1x1 ``ResidualBlock_noBN`` and an outer skip; one ``R`` row."""

    def __init__(self, w: Widths, trunk: Width, hidden: Width, *, row: str):
        super().__init__()
        self.res1 = ResidualBlock1x1(w, trunk, hidden, row=row)
        self.res2 = ResidualBlock1x1(w, trunk, hidden, row=row)
        self.res3 = ResidualBlock1x1(w, trunk, hidden, row=row)
        w.row(row, trunk, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res3(self.res2(self.res1(x)))


class ParameterNet(nn.Module):
    """``Parameter_net``: 1x1 convs 256 -> 512 (LReLU 0.1) -> 512 (LReLU 0.1), ``Resblocks(512, 1)``,
    1x1 conv -> 256 (mean and sqrt-scale of the 128-channel latent)."""

    def __init__(self, w: Widths, prefix: str):
        super().__init__()
        k1, k2, k3 = f"{prefix}.conv1", f"{prefix}.conv2", f"{prefix}.conv3"
        width_in = w.fixed(MV * 2)
        self.conv1 = SlimConv2d(w, width_in, w[k1], 1, row=k1)
        w.row(k1, width_in, w[k1])
        self.conv2 = SlimConv2d(w, w[k1], w[k2], 1, row=k2)
        w.row(k2, w[k1], w[k2])
        self.res0 = Resblocks1x1(w, w[k2], w[f"{prefix}.res0"], row=f"{prefix}.res0")
        self.conv3 = SlimConv2d(w, w[k2], w[k3], 1, row=k3)
        w.row(k3, w[k2], w[k3])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv1(x), 0.1)
        x = F.leaky_relu(self.conv2(x), 0.1)
        return self.conv3(self.res0(x))


class EntropyParameters(nn.Module):
    """The decoder-side network of ``NIPS18nocEntropyCoder`` (key ``<coder>.parameters_net``)."""

    def __init__(self, w: Widths, prefix: str):
        super().__init__()
        self.parameters_net = ParameterNet(w, f"{prefix}.parameters_net")

    def forward(self, hyper: torch.Tensor, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
        musigma = self.parameters_net(hyper)
        mu, sigma = musigma[:, :channels], musigma[:, channels:]
        return mu, sigma.pow(2).clamp(1e-5, 1e10)


class FVC(Codec):
    """FVC's decoder side at any width layout."""

    LAYERS = (_FE_LAYERS + _latent_decoder_layers("aligner.offset_decoder") + _MC_LAYERS
              + _latent_decoder_layers("resDecoder") + _RECON_LAYERS
              + _prior_layers("OffsetPriorDecoder") + _prior_layers("resPriorDecoder")
              + _param_layers("EntropyCoding_offsetf.parameters_net")
              + _param_layers("EntropyCoding_residualf.parameters_net"))
    TIES = (
        (("aligner.deformable_convolution", "aligner.refine_conv2", "resDecoder.deconv3"),
         "aligned = DCN output + refine_conv2 output; recon_feature = aligned + resDecoder output "
         "(both additions, and the sum feeds Decoder.recon_trunk)"),
    )
    MULTIPLE = 64

    def __init__(self, layout=None):
        super().__init__(layout)
        w = self.widths
        self.Encoder = FeatureEncoder(w)
        self.aligner = PCDAlign(w, w["Encoder.conv1"])
        self.resDecoder = LatentDecoder(w, "resDecoder", RES)
        self.Decoder = FeatureDecoder(w, w["aligner.deformable_convolution"])
        self.OffsetPriorDecoder = PriorDecoder(w, "OffsetPriorDecoder")
        self.resPriorDecoder = PriorDecoder(w, "resPriorDecoder")
        self.EntropyCoding_offsetf = EntropyParameters(w, "EntropyCoding_offsetf")
        self.EntropyCoding_residualf = EntropyParameters(w, "EntropyCoding_residualf")

    def decoder_inputs(self, height, width, batch=1, generator=None):
        def rand(c, s):
            return torch.randn(batch, c, height // s, width // s, generator=generator).round()
        return {"ref": torch.rand(batch, 3, height, width, generator=generator),
                "q_offset": rand(MV, 16), "q_res": rand(RES, 16),
                "q_offset_z": rand(MV, 64), "q_res_z": rand(RES, 64)}

    def decode(self, ref, q_offset, q_res, q_offset_z, q_res_z):
        ref_feature = self.Encoder(ref)
        aligned = self.aligner(ref_feature, q_offset)
        recon_feature = aligned + self.resDecoder(q_res)
        x_hat = self.Decoder(recon_feature)
        offset_mu, offset_sigma = self.EntropyCoding_offsetf(self.OffsetPriorDecoder(q_offset_z), MV)
        res_mu, res_sigma = self.EntropyCoding_residualf(self.resPriorDecoder(q_res_z), RES)
        return {"x_hat": x_hat, "aligned_feature": aligned, "recon_feature": recon_feature,
                "offset_mu": offset_mu, "offset_sigma": offset_sigma,
                "res_mu": res_mu, "res_sigma": res_sigma}


CODEC = FVC
