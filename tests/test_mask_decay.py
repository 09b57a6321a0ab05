"""EVC's mask decay as stage 2's second selector (``selector=mask_decay``): the merged, pruned decoder
gives the masked student's output (Claim 1) and the closed form's MACs; the decay ends exactly at the
landed widths; bad values and spaces where masks cannot merge are one line, exit 2; a run checkpoints
and resumes."""
from __future__ import annotations

import pytest
import torch

from conftest import shifted_frames, smooth_images
from search.complexity import Complexity, count_decoder, measure_profile
from search.config import Config, SupernetConfig, TrainingConfig
from search.config.schema import MaskDecayConfig
from search.data import training_frames
from search.outer import export_architecture, load_architecture
from search.space import load_space
from search.stage2.mask_decay import (ChannelMasks, DecaySchedule, MaskDecay, MaskDecayNet,
                                        target_landing, teacher_norms, train_mask_decay, unsupported)

SIZE = 64


def _net(name: str, fractions=(0.6, 0.3), seed: int = 0) -> MaskDecayNet:
    """A full-width codec (seeded weights) with masks of two levels landed at ``fractions`` of the
    space's range at 64x64, scaled at random and pruned to the landed widths."""
    space = load_space(name)
    torch.manual_seed(seed)
    codec = space.codec(None).eval()
    complexity = Complexity(measure_profile(space, (SIZE, SIZE)), space)
    low, high = complexity.range_gmacs()
    targets = [low + (high - low) * f for f in fractions]
    landings = [target_landing(space, complexity, t, 0.005) for t in targets]
    widths = [[space.layout_of(lnd.choice)[g[0]] for g in space.groups] for lnd in landings]
    masks = ChannelMasks(space, widths)
    teacher_norms(codec, masks)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for values in masks.values:
            values.copy_(0.2 + 1.3 * torch.rand(values.shape, generator=generator))
    MaskDecay(masks, DecaySchedule(rate=0.1, decay_steps=1))(1)  # the prune
    return MaskDecayNet(space, complexity, codec, codec, masks, targets, landings)


def _inputs(net: MaskDecayNet) -> tuple[torch.Tensor, ...]:
    return (smooth_images(1, SIZE),) if net.codec.CODES == "image" else shifted_frames(1, size=SIZE)


@pytest.fixture(scope="module", params=["evc", "dvc"])
def net(request) -> MaskDecayNet:
    return _net(request.param)


def test_exported_merged_pruned_decoder_equals_masked_student(net, tmp_path):
    """The level's codec (its layout, the kept channels of the merged weights), exported and loaded
    back, gives the masked student's output."""
    levels = net.levels()
    export_architecture(net.space, levels[1].layout, net.merged(1), tmp_path, "level_2", (SIZE, SIZE),
                        levels[1].landing.value, keep=net.kept(1))
    inputs = _inputs(net)
    model = load_architecture(tmp_path / "layouts" / "level_2.yaml", tmp_path / "weights" / "level_2.pt")
    assert model.layout == levels[1].layout
    masked = net.masked(1, *inputs)["x_hat"]
    with torch.no_grad():
        merged = model(*inputs)["x_hat"]
        unmasked = net.codec.eval()(*inputs)["x_hat"]
    assert (merged - masked).abs().max() <= 1e-5
    assert (masked - unmasked).abs().max() > 1e-3  # the masks matter
    kept = net.kept(1)
    assert any(not torch.equal(index, torch.arange(len(index))) for index in kept.values())


def test_merged_decoder_macs_are_the_closed_form(net):
    """fvcore's count of the merged, pruned decoder at 64x64 (EVC 478,532,544 and 782,271,936 MACs;
    DVC 440,504,320 and 793,104,384) is the closed form of the landed layout."""
    counted = []
    for level in net.levels():
        model = net.level_codec(level)
        total = count_decoder(model, model.decoder_inputs(SIZE, SIZE)).total
        assert total == net.cost.macs(level.layout)
        assert level.landing.value <= level.target and level.landing.reachable
        counted.append(total)
    expected = {"evc": [782_271_936, 478_532_544], "dvc": [793_104_384, 440_504_320]}
    assert counted == expected[net.space.name]


def test_decay_follows_eq3_and_prunes_exactly_to_the_target_widths():
    space = load_space("evc")
    widths = [[space.layers[g[0]].options[2] for g in space.groups],
              [space.layers[g[0]].options[4] for g in space.groups]]
    masks = ChannelMasks(space, widths)
    with torch.no_grad():
        masks.values[0].copy_(torch.linspace(0.5, 1.0, masks.values[0].shape[1]).expand_as(masks.values[0]))
    decay = MaskDecay(masks, DecaySchedule(rate=0.25, decay_steps=3))
    before = masks.values[0].detach().clone()
    decay(0)
    surplus = masks.values[0].shape[1] - widths[0][0]
    # the lowest masks (importance = mask x teacher norm, norms all 1 here) decay by eta |m - 1|
    expected = before[0, :surplus] - 0.25 * (before[0, :surplus] - 1).abs()
    assert torch.allclose(masks.values[0][0, :surplus], expected)
    assert torch.equal(masks.values[0][0, surplus:], before[0, surplus:])
    decay(1), decay(2)
    assert not bool(masks.pruned)
    decay(3)
    assert bool(masks.pruned)
    for level in range(2):
        for g, keys in enumerate(masks.groups):
            alive = int((masks.mask(level, keys[0]) != 0).sum())
            assert alive == widths[level][g] == len(masks.kept(level)[keys[0]])
    assert torch.equal(masks.kept(0)[masks.groups[0][0]], torch.arange(surplus, before.shape[1]))


def test_training_ends_at_the_landed_widths_of_an_image_codec(tmp_path):
    """Two mask-decay steps of EVC (an image codec: ``forward(x)``) from a stage-1 checkpoint."""
    space = load_space("evc")
    complexity = Complexity(measure_profile(space, (SIZE, SIZE)), space)
    torch.manual_seed(0)
    weights = tmp_path / "stage1.pt"
    torch.save(space.codec(None).state_dict(), weights)
    low, high = complexity.range_gmacs()
    targets = [low + 0.5 * (high - low)]
    training = TrainingConfig(lmbda=256.0, crop=SIZE, batch=1, lr=1e-4, checkpoint_every=5)
    cfg = Config(training=training, mask_decay=MaskDecayConfig(rate=0.2, fraction=0.5),
                 supernet=SupernetConfig(target_gmacs=targets, steps=2, time_limit=None,
                                         selector="mask_decay"))
    net = train_mask_decay(space, complexity, str(weights), targets, training_frames("default"), cfg,
                           tmp_path / "run", seed=0)
    level = net.levels()[0]
    assert bool(net.masks.pruned)
    for g, keys in enumerate(net.masks.groups):
        assert int((net.masks.mask(0, keys[0]) != 0).sum()) == level.layout[keys[0]]
    assert (tmp_path / "run" / "checkpoints" / "step_00000002.pt").is_file()


def test_unsupported_spaces_name_the_reason():
    assert unsupported(load_space("evc")) is None and unsupported(load_space("dvc")) is None
    assert "SwitchableGDN" in unsupported(load_space("slimcae"))
    assert "deformable" in unsupported(load_space("fvc"))


@pytest.mark.parametrize("command,args,words", [
    ("supernet", ["space=evc", "selector=lasso"], "selector='lasso'"),
    ("supernet", ["space=slimcae", "selector=mask_decay", "target_gmacs=[20]"], "SwitchableGDN"),
    ("supernet", ["space=fvc", "selector=mask_decay"], "deformable"),
    ("supernet", ["space=evc", "selector=mask_decay", "mask_decay_fraction=0"], "mask_decay_fraction"),
    ("supernet", ["space=dvc", "selector=mask_decay", "target_gmacs=[300,100]", "interpolate=[200]"],
     "interpolate"),
    ("run", ["space=dvc", "selector=mask_decay"], "outer search"),
])
def test_cli_bad_input(command, args, words, tmp_path, capsys):
    from search.commands import run, supernet

    out = tmp_path / "never"
    main = {"supernet": supernet.main, "run": run.main}[command]
    targets = [] if any(a.startswith("target_gmacs") for a in args) else ["target_gmacs=[300]"]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, *targets, f"out={out}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not out.exists()


def test_run_checkpoints_and_resumes(tmp_path, capsys):
    """``python -m search.supernet space=dvc selector=mask_decay`` (a P-frame codec): a step; the same
    command finds the stage finished and does not train it; ``extend=stage2`` with one more step
    resumes from the checkpoint; each level is exported."""
    from search.commands.supernet import main

    space = load_space("dvc")
    torch.manual_seed(0)
    weights = tmp_path / "stage1.pt"
    torch.save(space.codec(None).state_dict(), weights)
    out = tmp_path / "run"
    args = ["space=dvc", "target_gmacs=[300,150]", f"checkpoint={weights}", "selector=mask_decay",
            "batch=1", "crop=64", "eval_gops=0", "checkpoint_every=1", f"out={out}"]
    assert main([*args, "steps=1"]) == 0
    assert (out / "checkpoints" / "step_00000001.pt").is_file()
    capsys.readouterr()
    assert main([*args, "steps=1"]) == 0
    assert "finished" in capsys.readouterr().out
    assert not (out / "checkpoints" / "step_00000002.pt").exists()
    assert main([*args, "steps=2", "extend=stage2"]) == 0
    assert f"resuming {out} from step 1" in capsys.readouterr().out
    assert (out / "checkpoints" / "step_00000002.pt").is_file()
    for stem in ("level_1", "level_2"):
        assert (out / "weights" / f"{stem}.pt").is_file() and (out / "layouts" / f"{stem}.yaml").is_file()
