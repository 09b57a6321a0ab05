"""Search spaces: the built-in spaces load and are consistent; bad spaces fail with one clear line."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from search.errors import BadInput
from search.paths import SPACE_DIR
from search.space import load_space

SPACES = ["dvc", "fvc", "dcvc", "slimvc", "slimcae", "evc", "elfvc"]


@pytest.fixture(scope="module", params=SPACES)
def space(request):
    return load_space(request.param)


def test_builtin_spaces_are_listed():
    assert set(SPACES) <= {p.stem for p in SPACE_DIR.glob("*.yaml")}


def test_every_codec_layer_once(space):
    codec_keys = [layer.key for layer in space.codec.LAYERS]
    assert len(codec_keys) == len(set(codec_keys))
    assert sorted(space.layers) == sorted(codec_keys)
    in_modules = [k for m in space.modules for k in m.layers]
    assert len(in_modules) == len(set(in_modules))
    assert sorted(in_modules) == sorted(codec_keys)
    for m in space.modules:
        for key in m.layers:
            assert space.module_of(key) == m.name


def test_options_descending_full_first(space):
    by_key = {layer.key: layer for layer in space.codec.LAYERS}
    for key, layer in space.layers.items():
        assert layer.full == by_key[key].full
        assert layer.options[0] == layer.full
        assert list(layer.options) == sorted(set(layer.options), reverse=True)
        assert all(isinstance(w, int) and 0 < w <= layer.full for w in layer.options)
        if layer.fixed:
            assert layer.options == (layer.full,)
        else:
            assert len(layer.options) > 1
        if by_key[key].fixed:
            assert layer.fixed, key


def test_groups_partition_searchable(space):
    flat = [k for g in space.groups for k in g]
    assert len(flat) == len(set(flat))
    assert sorted(flat) == sorted(space.searchable)
    assert space.searchable, "a space with nothing to search"
    for group in space.groups:
        counts = {len(space.layers[k].options) for k in group}
        assert len(counts) == 1, group
    assert space.group_sizes == [len(space.layers[g[0]].options) for g in space.groups]
    # the codec's required ties are inside one group
    group_of = {k: i for i, g in enumerate(space.groups) for k in g}
    for required, _ in space.codec.TIES:
        searchable = [k for k in required if k in group_of]
        assert len({group_of[k] for k in searchable}) <= 1, required


def test_layout_choice_round_trip(space):
    rng = np.random.default_rng(0)
    choices = space.random_choices(20, rng)
    assert choices.shape == (20, len(space.groups))
    for choice in choices:
        layout = space.layout_of(choice)
        assert list(layout) == list(space.layers)
        assert space.choice_of(layout) == [int(c) for c in choice]
    assert space.choice_of(space.full_layout()) == [0] * len(space.groups)
    assert space.layout_of([0] * len(space.groups)) == space.full_layout()
    smallest = space.uniform_layout(10)
    assert all(smallest[k] == space.layers[k].options[-1] for k in space.layers)
    with pytest.raises(ValueError):
        space.layout_of([0] * (len(space.groups) + 1))


def test_choice_of_rejects_bad_layouts():
    space = load_space("fvc")
    layout = space.full_layout()
    layout["Encoder.conv1"] = 7
    with pytest.raises(BadInput, match="Encoder.conv1"):
        space.choice_of(layout)
    layout = space.full_layout()
    tied = space.codec.TIES[0][0]
    layout[tied[0]] = space.layers[tied[0]].options[1]
    with pytest.raises(BadInput, match="tie"):
        space.choice_of(layout)
    layout = space.full_layout()
    layout["Encoder.conv9"] = 64
    with pytest.raises(BadInput, match="Encoder.conv9"):
        space.choice_of(layout)


# -- bad spaces ------------------------------------------------------------------------------------


def _data(name: str) -> dict:
    return yaml.safe_load((SPACE_DIR / f"{name}.yaml").read_text())


def _write(tmp_path: Path, data, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def _module_with(data: dict, key: str) -> dict:
    return next(m for m in data["modules"] if key in m["layers"])


def _fails(path: Path, *needles: str) -> str:
    with pytest.raises(BadInput) as info:
        load_space(path)
    message = str(info.value)
    assert "\n" not in message and message.strip(), message
    assert str(path) in message, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


def test_uniform_gives_one_group(tmp_path):
    data = _data("dvc")
    data["uniform"] = True
    space = load_space(_write(tmp_path, data, "uniform.yaml"))
    assert len(space.groups) == 1
    assert sorted(space.groups[0]) == sorted(space.searchable)
    assert space.group_sizes == [3]
    assert space.layout_of([2]) == space.uniform_layout(2)


def test_space_by_path_named_after_file(tmp_path):
    space = load_space(_write(tmp_path, _data("dvc"), "mine.yaml"))
    assert space.name == "mine"
    assert space.codec_name == "dvc"


def test_unknown_layer_suggests_close_name(tmp_path):
    data = _data("dvc")
    layers = _module_with(data, "mvDecoder.deconv1")["layers"]
    layers["mvDecoder.deconv9"] = "default"
    message = _fails(_write(tmp_path, data), "mvDecoder.deconv9", "did you mean")
    assert "mvDecoder.deconv" in message.split("did you mean")[1]


def test_layer_missing_from_modules(tmp_path):
    data = _data("dvc")
    del _module_with(data, "warpnet.conv3")["layers"]["warpnet.conv3"]
    _fails(_write(tmp_path, data), "warpnet.conv3")


def test_same_layer_in_two_modules(tmp_path):
    data = _data("dvc")
    data["modules"][-1]["layers"]["mvDecoder.deconv2"] = "default"
    _fails(_write(tmp_path, data), "mvDecoder.deconv2", "twice")


def test_duplicated_key_in_one_mapping(tmp_path):
    text = (SPACE_DIR / "dvc.yaml").read_text()
    line = "      mvDecoder.deconv3: default\n"
    assert line in text
    text = text.replace(line, line + "      mvDecoder.deconv3: [64]\n")
    _fails(_write(tmp_path, text), "mvDecoder.deconv3", "duplicated")


@pytest.mark.parametrize("widths, needle", [([64, 0], "positive"), ([64, -8], "positive"),
                                            ([512, 64], "above")])
def test_bad_widths(tmp_path, widths, needle):
    data = _data("dvc")
    _module_with(data, "resDecoder.deconv2")["layers"]["resDecoder.deconv2"] = widths
    _fails(_write(tmp_path, data), "resDecoder.deconv2", needle, str(widths[1] if widths[1] <= 0
                                                                     else widths[0]))


def test_non_integer_width(tmp_path):
    data = _data("dvc")
    _module_with(data, "resDecoder.deconv2")["layers"]["resDecoder.deconv2"] = [64, 31.5]
    _fails(_write(tmp_path, data), "resDecoder.deconv2")


def test_empty_options(tmp_path):
    data = _data("dvc")
    _module_with(data, "resDecoder.deconv1")["layers"]["resDecoder.deconv1"] = []
    _fails(_write(tmp_path, data), "resDecoder.deconv1", "empty")


def test_bad_ratio(tmp_path):
    data = _data("dvc")
    _module_with(data, "resDecoder.deconv1")["layers"]["resDecoder.deconv1"] = {"ratios": [1, 1.5]}
    _fails(_write(tmp_path, data), "resDecoder.deconv1", "1.5")


def test_fixed_codec_layer_given_options(tmp_path):
    data = _data("dvc")
    _module_with(data, "mvDecoder.deconv8")["layers"]["mvDecoder.deconv8"] = "default"
    _fails(_write(tmp_path, data), "mvDecoder.deconv8", "fixed")


def test_tie_with_different_option_counts(tmp_path):
    data = _data("dvc")
    space = load_space("dvc")
    full = space.layers["mvDecoder.deconv2"].full
    _module_with(data, "mvDecoder.deconv2")["layers"]["mvDecoder.deconv2"] = [full, full // 2]
    data["ties"] = [["mvDecoder.deconv1", "mvDecoder.deconv2"]]
    _fails(_write(tmp_path, data), "mvDecoder.deconv2", "cannot hold")


def test_tie_with_unknown_layer(tmp_path):
    data = _data("dvc")
    data["ties"] = [["mvDecoder.deconv1", "mvDecoder.deconv22"]]
    _fails(_write(tmp_path, data), "mvDecoder.deconv22")


def test_fvc_required_tie_removed(tmp_path):
    data = _data("fvc")
    assert data["ties"]
    data["ties"] = []
    _fails(_write(tmp_path, data), "must be tied", "aligner.deformable_convolution")


def test_fvc_required_tie_partial(tmp_path):
    data = _data("fvc")
    data["ties"] = [["aligner.deformable_convolution", "aligner.refine_conv2"]]
    _fails(_write(tmp_path, data), "must be tied", "resDecoder.deconv3")


def test_fvc_tie_with_different_widths(tmp_path):
    data = _data("fvc")
    space = load_space("fvc")
    full = space.layers["resDecoder.deconv3"].full
    _module_with(data, "resDecoder.deconv3")["layers"]["resDecoder.deconv3"] = [full, full // 2,
                                                                                 full // 8]
    _fails(_write(tmp_path, data), "cannot hold", "resDecoder.deconv3")


def test_fvc_deformable_groups(tmp_path):
    data = _data("fvc")
    _module_with(data, "Encoder.conv1")["layers"]["Encoder.conv1"] = [64, 12]
    _fails(_write(tmp_path, data), "Encoder.conv1", "12", "deformable groups")


@pytest.mark.parametrize("key", ["modulez", "tie"])
def test_unknown_top_level_key(tmp_path, key):
    data = _data("dvc")
    data[key] = []
    _fails(_write(tmp_path, data), repr(key))


def test_every_space_says_what_it_codes(space):
    """``codes:`` in every built-in space file, agreeing with its codec's ``CODES``."""
    codes = yaml.safe_load(space.path.read_text())["codes"]
    assert codes == {"image": "image", "p-frame": "p_frame"}[space.codec.CODES]
    assert codes == ("image" if space.name in ("slimcae", "evc") else "p_frame")


@pytest.mark.parametrize("name, codes, needles", [
    ("evc", "p_frame", ("codes: p_frame", "'evc' codes image", "write codes: image")),
    ("dvc", "image", ("codes: image", "'dvc' codes p_frame", "write codes: p_frame")),
    ("dvc", "video", ("'video' is not accepted", "image, p_frame")),
    ("slimcae", "p-frame", ("'p-frame' is not accepted",)),
])
def test_codes_must_match_the_codec(tmp_path, name, codes, needles):
    data = _data(name)
    data["codes"] = codes
    _fails(_write(tmp_path, data), *needles)


def test_codes_bad_value_from_the_command_line(tmp_path, capsys):
    """One line on stderr, exit 2, nothing written (the command's real code path, in process)."""
    from search.commands.run import main

    data = _data("slimcae")
    data["codes"] = "p_frame"
    path = _write(tmp_path, data, "mine.yaml")
    with pytest.raises(SystemExit) as exc:
        main([f"space={path}", "target_gmacs=[15]", f"out={tmp_path / 'never'}"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "codes: p_frame" in err and "'slimcae' codes image" in err
    assert not (tmp_path / "never").exists()


def test_unknown_codec(tmp_path):
    data = _data("dvc")
    data["codec"] = "nosuchcodec"
    _fails(_write(tmp_path, data), "nosuchcodec")


def test_missing_codec(tmp_path):
    data = _data("dvc")
    del data["codec"]
    _fails(_write(tmp_path, data), "codec")


def test_malformed_yaml(tmp_path):
    _fails(_write(tmp_path, "codec: dvc\nmodules: [\n  - name: x\n    layers: {a: 1\n"), "YAML")


def test_not_a_mapping(tmp_path):
    _fails(_write(tmp_path, "- just\n- a list\n"))


def test_default_without_options(tmp_path):
    data = _data("dvc")
    del data["options"]
    _fails(_write(tmp_path, data), "mvDecoder.deconv1", "default")


def test_unknown_space_name():
    with pytest.raises(BadInput) as info:
        load_space("dvcc")
    message = str(info.value)
    assert "\n" not in message and "dvcc" in message and "'dvc'" in message


def test_missing_space_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(BadInput) as info:
        load_space(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_bad_space_does_not_mutate_builtin(tmp_path):
    before = (SPACE_DIR / "fvc.yaml").read_text()
    data = copy.deepcopy(_data("fvc"))
    data["ties"] = []
    with pytest.raises(BadInput):
        load_space(_write(tmp_path, data))
    assert (SPACE_DIR / "fvc.yaml").read_text() == before


# -- the image codecs' spaces ----------------------------------------------------------------------


def test_slimcae_width_without_a_gdn_set(tmp_path):
    """SwitchGDN holds one parameter set per SlimCAE width: another width does not build."""
    data = _data("slimcae")
    _module_with(data, "synthesis.deconv1")["layers"]["synthesis.deconv1"] = [192, 100]
    data["ties"] = [["synthesis.deconv2", "analysis.conv1"]]
    _fails(_write(tmp_path, data), "synthesis.deconv1", "100", "does not build")


def test_slimcae_image_output_is_fixed(tmp_path):
    data = _data("slimcae")
    _module_with(data, "synthesis.deconv3")["layers"]["synthesis.deconv3"] = "default"
    _fails(_write(tmp_path, data), "synthesis.deconv3", "image output")


def test_evc_entropy_trunk_is_fixed(tmp_path):
    data = _data("evc")
    _module_with(data, "hyper_dec.0.block.2")["layers"]["hyper_dec.0.block.2"] = [192, 96]
    _fails(_write(tmp_path, data), "hyper_dec.0.block.2", "cannot be slimmed")


def test_evc_width_above_full(tmp_path):
    data = _data("evc")
    _module_with(data, "dec.1.upsample")["layers"]["dec.1.upsample"] = [256, 192]
    _fails(_write(tmp_path, data), "dec.1.upsample", "above")


def test_slimvc_entropy_boundary_is_fixed(tmp_path):
    """SlimVC's entropy modules keep their outputs at full width: slimming one is refused."""
    data = _data("slimvc")
    _module_with(data, "SlimTPM.conv3")["layers"]["SlimTPM.conv3"] = "default"
    _fails(_write(tmp_path, data), "SlimTPM.conv3", "full width")
