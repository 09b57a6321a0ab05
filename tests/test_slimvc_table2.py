"""SlimVC against its own paper's Table 2 (tests/fixtures/slimvc_table2.yaml): GFLOPs of every module at the
five width factors, 1080p, compared with our fvcore MACs of the uniform layouts.

How ours are counted: the decoder modules from the committed profile (profiles/slimvc@1920x1080.json,
fvcore at 1920x1104: SlimVC pads to a multiple of 48); SlimHE (encoder side, not in the profile) by fvcore
on the module itself at the same size; SlimFE equals SlimFD (checked with fvcore on both). The paper counts
1920x1080: every SlimVC module works at H/12 or on multiples of it (SlimFD: H/12, H/6, H/3, H; SlimTPM and
SlimEPM: H/12), where our 92 rows are 1104/1080 of the paper's 90, so ``ours * 1080 / 1104`` is our count at
the paper's size (exact for SlimFE/FD, SlimTPM, SlimEPM; for SlimHD and SlimHE, which also work on z at
H/48, our 23 rows stand for the paper's 22.5). The comparison is on that basis.

The structure follows the paper's text (codecs/slimvc.py): the autoencoder slims its latent, the entropy
modules slim their hidden layers only. Ours / paper at factors 0.25 / 0.375 / 0.5 / 0.75 / 1 (1080 rows):

=============  =========================================  =========================================
module         ours (GMACs)                               ours / paper
=============  =========================================  =========================================
SlimFD         7.53 / 14.93 / 24.75 / 51.66 / 88.25       0.78 / 0.81 / 0.73 / 0.92 / 0.98
SlimTPM        43.16 / 68.66 / 96.71 / 160.36 / 233.99    1.02 / 1.01 / 1.01 / 1.00 / 1.01
SlimEPM        10.99 / 17.86 / 25.66 / 44.02 / 66.06      1.00 / 1.02 / 1.00 / 1.00 / 1.00
SlimHD         6.05 / 9.35 / 12.83 / 20.35 / 28.61        1.01 / 1.04 / 1.05 / 1.05 / 1.04
decoder        67.7 / 110.8 / 159.9 / 276.4 / 416.9       0.98 / 0.98 / 0.95 / 0.99 / 1.00
SlimHE + HD    9.97 / 15.50 / 21.41 / 34.33 / 48.72       1.00 / 1.03 / 1.03 / 1.03 / 1.02
encoder        71.6 / 117.0 / 168.5 / 290.4 / 437.0       0.98 / 0.98 / 0.96 / 0.99 / 1.00
=============  =========================================  =========================================

(As profiled, at 1920x1104, the decoder counts 69.2 / 113.3 / 163.5 / 282.5 / 426.2 GMACs, within 3% of
the paper's 69 / 113 / 168 / 279 / 416 too.) Every decoder and encoder total is within 5%, SlimTPM and
SlimEPM within 2.1% module by module, SlimHD within 5.2% (above the paper at every factor, +0.8% to
+5.2%; the paper's SlimHD figures are about 4% below what its layers give at 1080p, z rounding up or
down). The residual is SlimFD at the narrow factors
(22%, 19% and 27% below the paper at 0.25, 0.375, 0.5): Table 2's SlimFE/FD row (9.6 / 18.5 / 34 / 56 / 90)
shrinks more slowly than a decoder whose latent is slimmed (about the square of the factor), and no
reading of the text reproduces it: keeping SlimFD's input latent at full width gives 10.52 / 18.50 / 28.47
/ 54.38 / 88.25 (0.25 10% above, 0.5 16% below) and contradicts Table 1's SlimFD parameter counts (0.3 M
at 0.25, printed 0.1; with the latent slimmed, 0.1 as printed). The earlier reading of this project, every
channel slimmed (the module boundaries too), counted 28.1 / 61.2 / 107.0 / 236.7 / 426.2 GMACs at 1104
rows: 59% / 46% / 36% / 15% below the paper's decoder at the narrow factors.
"""
from __future__ import annotations

import pytest
import torch
from fvcore.nn import FlopCountAnalysis

from search.complexity import Complexity, load_or_measure
from search.space import load_space

from conftest import load_fixture

TABLE = load_fixture("slimvc_table2.yaml")
FACTORS = TABLE["width_factors"]
TO_1080 = 1080 / 1104
DECODER = ("SlimFD", "SlimTPM", "SlimEPM", "SlimHD")
#: ours / paper (1080 rows) where the text gives no structure within 5% of Table 2: pinned, so that a
#: change of the codec that moves them fails here and updates this file's and codecs/slimvc.py's text
FD_RESIDUAL = [0.784, 0.807, 0.728, 0.922, 0.981]


@pytest.fixture(scope="module")
def space():
    return load_space("slimvc")


@pytest.fixture(scope="module")
def ours(space) -> dict[str, list[float]]:
    """Our GMACs per Table 2 module and factor, at 1080 rows (see the module docstring)."""
    stale = "profiles/slimvc@1920x1080.json is missing or stale: python -m search.profile space=slimvc"
    profile = load_or_measure(space, (1920, 1080), write=False, log=lambda *a, **k: pytest.fail(stale))
    complexity = Complexity(profile, space)
    codec = space.codec
    out = {name: [] for name in DECODER + ("SlimHE",)}
    for factor in FACTORS:
        layout = codec.uniform_layout(factor)
        space.check_layout(layout)
        modules = complexity.module_macs(layout)
        for name in DECODER:
            out[name].append(modules[name] / 1e9 * TO_1080)
        out["SlimHE"].append(hyper_encoder_macs(codec(layout)) / 1e9 * TO_1080)
    return out


def hyper_encoder_macs(model, height: int = 1104, width: int = 1920) -> int:
    """fvcore's MACs of SlimHE on cat(y_t, y_{t-1}) at the latent's size (y at H/12)."""
    y = torch.zeros(1, model.widths.layout["SlimFE.conv3"], height // 12, width // 12)
    with torch.no_grad():
        analysis = FlopCountAnalysis(model.SlimHE.eval(), (y, y))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return int(analysis.total())


def ratio(ours: list[float], paper: list[float]) -> list[float]:
    return [o / p for o, p in zip(ours, paper)]


def test_transcription_adds_up():
    """Each column's module figures add up to its printed total (how the decimal points were read)."""
    for half in ("encoder", "decoder"):
        rows = TABLE[half]["modules"].values()
        for i, total in enumerate(TABLE[half]["total"]):
            assert sum(row[i] for row in rows) == pytest.approx(total, abs=0.5), (half, i)
        assert TABLE[half]["others"]["Indep. VCs"] == TABLE[half]["total"]


def test_decoder_against_table2(ours):
    paper = TABLE["decoder"]["modules"]
    totals = [sum(ours[m][i] for m in DECODER) for i in range(len(FACTORS))]
    assert max(abs(r - 1) for r in ratio(totals, TABLE["decoder"]["total"])) <= 0.05, totals
    unpadded = [t / TO_1080 for t in totals]  # as profiled (1104 rows): within 5% as well
    assert max(abs(r - 1) for r in ratio(unpadded, TABLE["decoder"]["total"])) <= 0.05, unpadded
    for name in ("SlimTPM", "SlimEPM", "SlimHD"):
        got = ratio(ours[name], paper[name])
        limit = 0.052 if name == "SlimHD" else 0.05  # SlimHD at 0.5: +5.1% (the module docstring)
        assert max(abs(r - 1) for r in got) <= limit, (name, got)
    fd = ratio(ours["SlimFD"], paper["SlimFE/FD"])
    assert fd == pytest.approx(FD_RESIDUAL, abs=0.005), fd


def test_encoder_against_table2(space, ours):
    """The encoder half: SlimHE + SlimHD against "SlimHE/HD", and the encoder's total (SlimFE, counted
    like SlimFD, + SlimTPM + SlimEPM + SlimHE + SlimHD) within 5% at every factor."""
    paper = TABLE["encoder"]["modules"]
    hyper = [he + hd for he, hd in zip(ours["SlimHE"], ours["SlimHD"])]
    assert max(abs(r - 1) for r in ratio(hyper, paper["SlimHE/HD"])) <= 0.05, hyper
    totals = [ours["SlimFD"][i] + ours["SlimTPM"][i] + ours["SlimEPM"][i] + hyper[i]
              for i in range(len(FACTORS))]
    assert max(abs(r - 1) for r in ratio(totals, TABLE["encoder"]["total"])) <= 0.05, totals


def test_feature_encoder_counts_like_the_decoder(space):
    """Table 2 prints one SlimFE/FD row for both halves: fvcore agrees that SlimFE and SlimFD cost the
    same at every factor (so the profile's SlimFD stands for SlimFE above)."""
    codec = space.codec
    for factor in FACTORS:
        model = codec(codec.uniform_layout(factor)).eval()
        y = model.widths.layout["SlimFE.conv3"]
        with torch.no_grad():
            fe = FlopCountAnalysis(model.SlimFE, (torch.zeros(1, 3, 96, 96),))
            fd = FlopCountAnalysis(model.SlimFD, (torch.zeros(1, y, 8, 8),))
            for analysis in (fe, fd):
                analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            assert fe.total() == fd.total(), factor
