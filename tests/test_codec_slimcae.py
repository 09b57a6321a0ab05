"""SlimCAE codec (codecs/slimcae.py): the paper's widths and sub-CAEs as layouts of the space, the three GDN
variants (parameter counts of section 3.4 and 5.4, sliced == masked), output shapes, report rows, and the
committed 768x512 profile (the paper's Table 2 resolution; its values are not used).

SlimCAE's public code is TensorFlow: there is no PyTorch checkpoint to match, so the references are the
paper's formulas and figures. Frames are 64x64 (4 x MULTIPLE: the latent at 4x4).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from search.codec import load_codec
from search.complexity import Complexity, fvcore_macs, load_or_measure
from search.nn.layers import SlimGDN, SlimGDNPlus, SwitchableGDN, load_sliced
from search.reports import layer_notations
from search.space import load_space

from conftest import assert_same_coding, random_layouts, smooth_images

SLIMCAE = load_codec("slimcae")
SIZE = 64
GDNS = {"switch": SwitchableGDN, "slim": SlimGDN, "slim+": SlimGDNPlus}


@pytest.fixture(scope="module")
def space():
    return load_space("slimcae")


@pytest.fixture(scope="module", params=list(GDNS))
def full(request):
    torch.manual_seed(0)
    return SLIMCAE(gdn=request.param).eval()


def image(seed: int = 0, batch: int = 1) -> torch.Tensor:
    return smooth_images(batch, SIZE, seed)


def test_widths_and_sub_caes_are_layouts_of_the_space(space):
    """Section 5.1's widths {48, 72, 96, 144, 192}: one option set per layer; each sub-CAE (one width
    everywhere) is the layout with one option index for the three groups."""
    assert SLIMCAE.WIDTHS == (48, 72, 96, 144, 192)
    for key, layer in space.layers.items():
        assert layer.options == ((3,) if layer.fixed else (192, 144, 96, 72, 48)), key
    assert [k for k, layer in space.layers.items() if layer.fixed] == ["synthesis.deconv3"]
    assert sorted(map(sorted, space.groups)) == [["analysis.conv1", "synthesis.deconv2"],
                                                 ["analysis.conv2", "synthesis.deconv1"],
                                                 ["analysis.conv3"]]
    assert [m.name for m in space.decoder_modules] == ["Synthesis transform (decoder)"]
    for index, width in enumerate(sorted(SLIMCAE.WIDTHS, reverse=True)):
        assert space.uniform_layout(index) == SLIMCAE.uniform_layout(width)
    with pytest.raises(ValueError):
        SLIMCAE.uniform_layout(100)


def _gdn_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for m in model.modules() if isinstance(m, tuple(GDNS.values()))
               for p in m.parameters())


def test_gdn_variant_parameter_counts():
    """Section 3.4: SwitchGDN holds sum_k (w_k + 1) w_k parameters per layer, SlimGDN (w_K + 1) w_K,
    SlimGDN+ (w_K + 1) w_K + 4K. Section 5.4: for the six GDN/IGDN layers of the w = 192 model, at 4
    bytes a parameter, 1.71 MB (SwitchGDN), 0.85 MB (SlimGDN) and 0.85 MB (SlimGDN+) (MB = 2^20 bytes)."""
    widths = SLIMCAE.WIDTHS
    per_layer = {"switch": sum((w + 1) * w for w in widths), "slim": 193 * 192,
                 "slim+": 193 * 192 + 4 * len(widths)}
    printed_mb = {"switch": 1.71, "slim": 0.85, "slim+": 0.85}
    for variant, count in per_layer.items():
        got = _gdn_params(SLIMCAE(gdn=variant))
        assert got == 6 * count, variant
        assert round(got * 4 / 2 ** 20, 2) == printed_mb[variant], variant
        small = SLIMCAE(SLIMCAE.uniform_layout(72), gdn=variant)
        expected_small = {"switch": 73 * 72, "slim": 73 * 72, "slim+": 73 * 72 + 4}[variant]
        assert _gdn_params(small) == 6 * expected_small, variant


def test_unknown_gdn_variant_and_missing_width():
    with pytest.raises(ValueError, match="gdn='bad'"):
        SLIMCAE(gdn="bad")
    layout = {**SLIMCAE.full_layout(), "synthesis.deconv1": 100}
    for variant in ("switch", "slim+"):  # one parameter set per SlimCAE width: 100 has none
        with pytest.raises(ValueError, match="no parameter set for width 100"):
            SLIMCAE(layout, gdn=variant)
    SLIMCAE(layout, gdn="slim")  # SlimGDN slices one set: any width builds


def test_sliced_equals_masked(full, space):
    """Random layouts, each GDN variant: the sliced model (weights taken from the full one) gives the masked
    full model's outputs: decode (the synthesis) and the whole forward (eval: x_hat and likelihoods, 1 on
    the masked latent channels)."""
    x = image()
    for layout in random_layouts(space, 4, seed=3)[1:] + [SLIMCAE.uniform_layout(48)]:
        small = load_sliced(SLIMCAE(layout, gdn=full.gdn_variant).eval(), full)
        y_w = layout["analysis.conv3"]
        inputs = small.decoder_inputs(SIZE, SIZE, generator=torch.Generator().manual_seed(1))
        padded = torch.zeros(1, 192, SIZE // 16, SIZE // 16)
        padded[:, :y_w] = inputs["y_hat"]
        with torch.no_grad():
            a, fa = small.decode(**inputs), small(x)
            with full.at_layout(layout):
                b, fb = full.decode(y_hat=padded), full(x)
        torch.testing.assert_close(a["x_hat"], b["x_hat"], atol=1e-5, rtol=1e-5)
        la, lb = fa["likelihoods"]["image"]["y"], fb["likelihoods"]["image"]["y"]
        assert (lb[:, y_w:] == 1).all()
        assert_same_coding(fa, {"x_hat": fb["x_hat"], "likelihoods": {"image": {"y": lb[:, :y_w]}}})
        assert la.shape[1] == y_w


def test_soft_mask_mixes_the_entropy_models():
    """Under soft weights (stage 2's relaxed masks) the switchable entropy model mixes its widths' rates:
    ``-log2 p = sum_k a_k bits_k``; with one-hot weights it is the chosen width's model alone."""
    torch.manual_seed(0)
    model = SLIMCAE().eval()
    with torch.no_grad():
        y_hat = torch.round(model.analysis(image(seed=2)))
    key, options = "analysis.conv3", (192, 48)
    bits = []
    for weights in (torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.25, 0.75])):
        model.set_choices({key: (weights, options)})
        with torch.no_grad():
            bits.append(float(-torch.log2(model.entropy_bottleneck.likelihood(y_hat)).sum()))
        model.set_choices(None)
    models = model.entropy_bottleneck.models
    with torch.no_grad():
        alone = [float(-torch.log2(models["192"].likelihood(y_hat)).sum()),
                 float(-torch.log2(models["48"].likelihood(y_hat[:, :48])).sum())]
    assert bits[:2] == pytest.approx(alone)
    assert bits[2] == pytest.approx(0.25 * bits[0] + 0.75 * bits[1], rel=1e-5)


def test_output_shapes_and_rows(full):
    x = image(batch=2)
    with torch.no_grad():
        out = full(x)
    assert out["x_hat"].shape == x.shape
    assert tuple(out["likelihoods"]["image"]["y"].shape) == (2, 192, 4, 4)
    assert list(full.widths.rows) == [layer.key for layer in SLIMCAE.LAYERS]
    rows = {k: [n.now for n in r.numbers] for k, r in SLIMCAE(SLIMCAE.uniform_layout(72)).widths.rows.items()}
    assert rows == {"analysis.conv1": [3, 72], "analysis.conv2": [72, 72], "analysis.conv3": [72, 72],
                    "synthesis.deconv1": [72, 72], "synthesis.deconv2": [72, 72],
                    "synthesis.deconv3": [72, 3]}
    with pytest.raises(ValueError, match="multiple of 16"):
        full(torch.rand(1, 3, 40, 64))


def test_report_notation(space):
    """The structure report's rows at the w = 72 sub-CAE (stride 4: two arrows)."""
    assert layer_notations(space, SLIMCAE.uniform_layout(72)) == {
        "analysis.conv1": "C(3,72)↓↓", "analysis.conv2": "C(72,72)↓", "analysis.conv3": "C(72,72)↓",
        "synthesis.deconv1": "D(72,72)↑", "synthesis.deconv2": "D(72,72)↑",
        "synthesis.deconv3": "D(72,3)↑↑"}


def test_committed_768x512_profile_is_current_and_exact(space):
    """The paper's efficiency resolution (section 5.4: 768x512): the committed profile matches the files
    and fvcore (full layout from the profile, one random layout counted now); the paper's sub-CAEs are
    its uniform layouts, each below the next."""
    profile = load_or_measure(space, (768, 512), write=False,
                              log=lambda *a, **k: pytest.fail("profiles/slimcae@768x512.json is stale"))
    assert profile.padded == (768, 512)
    complexity = Complexity(profile, space)
    full_layout, random_layout = random_layouts(space, 2, seed=5)
    assert complexity.module_macs(full_layout) == profile.measured_macs
    assert complexity.module_macs(random_layout) == fvcore_macs(space, random_layout, (768, 512))
    per_width = [complexity.gmacs(SLIMCAE.uniform_layout(w)) for w in SLIMCAE.WIDTHS]
    assert np.all(np.diff(per_width) > 0)
