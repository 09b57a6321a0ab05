"""cgSlimDecoder stage 2: Gumbel-softmax, mode selection, the complexity penalty, exact landing."""
import numpy as np
import pytest
import torch

from search.complexity import Complexity, load_or_measure
from search.errors import BadInput
from search.stage2 import TauSchedule, gumbel_softmax_st
from search.stage2 import land
from search.stage2 import (ModeSelection, SampledComplexity, choices_for_codec,
                              complexity_vector, sample)
from search.space import load_space
from search.stage2 import Supernet, check_targets


@pytest.fixture(scope="module")
def fvc():
    space = load_space("fvc")
    return space, Complexity(load_or_measure(space, (1920, 1080), write=False), space)


def test_gumbel_straight_through_is_one_hot_forward_and_soft_backward():
    logits = torch.tensor([0.5, 1.5, -0.2], requires_grad=True)
    g = torch.Generator().manual_seed(0)
    a = gumbel_softmax_st(logits, tau=0.7, generator=g)
    assert sorted(a.tolist()) == [0.0, 0.0, 1.0]
    (a * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0  # through the relaxation
    assert gumbel_softmax_st(logits.detach(), 1.0, noise=False).argmax() == 1  # evaluation: argmax


def test_tau_schedule():
    for kind in ("linear", "exponential"):
        schedule = TauSchedule(steps=101, start=3.0, floor=0.1, kind=kind)
        assert schedule(0) == pytest.approx(3.0) and schedule(100) == pytest.approx(0.1)
        assert schedule(1000) == pytest.approx(0.1)
        assert all(schedule(i) >= schedule(i + 1) for i in range(100))
    for bad in ({"floor": 0.0}, {"floor": -1.0}, {"kind": "cosine"}):
        with pytest.raises(BadInput):
            TauSchedule(steps=10, **bad)


def test_complexity_vector_checks():
    assert complexity_vector(3, level=1).tolist() == [0, 1, 0]
    assert complexity_vector(3, weights=[0.25, 0.75, 0]).sum() == pytest.approx(1)
    for bad in ([1, 0], [0.5, 0.6, 0], [-0.5, 1.5, 0]):
        with pytest.raises(BadInput):
            complexity_vector(3, weights=bad)


def test_sampled_complexity_is_exact_in_the_forward_pass(fvc):
    space, complexity = fvc
    selector = ModeSelection(3, space.group_sizes)
    sampled = SampledComplexity(complexity)
    g = torch.Generator().manual_seed(1)
    for level in range(3):
        samples = sample(selector, complexity_vector(3, level), tau=1.0, generator=g)
        choice = [int(s.argmax()) for s in samples]
        expected = complexity.gmacs_of_choices(np.array([choice]))[0]
        assert float(sampled(samples).detach()) == pytest.approx(expected, abs=1e-6)


def test_tied_layers_share_one_choice(fvc):
    space, _ = fvc
    selector = ModeSelection(2, space.group_sizes)
    samples = sample(selector, complexity_vector(2, 0), 1.0, torch.Generator().manual_seed(0))
    choices = choices_for_codec(space, samples)
    tie = next(g for g in space.groups if len(g) > 1)
    assert all(choices[k][0] is choices[tie[0]][0] for k in tie)


def test_penalty_moves_sampled_gmacs_toward_target_from_above_and_below(fvc):
    """Only the mode-selection module trains, on the penalty alone: level 1's target is above where
    uniform sampling starts, level 2's below; both move towards their targets."""
    space, complexity = fvc
    low, high = complexity.range_gmacs()
    targets = [low + 0.85 * (high - low), low + 0.15 * (high - low)]
    torch.manual_seed(0)
    net = Supernet(space, complexity, codec=None, targets=targets)
    optimizer = torch.optim.Adam(net.mode_selection.parameters(), lr=0.05)
    schedule = TauSchedule(steps=300, start=3.0, floor=0.3)
    g = torch.Generator().manual_seed(0)

    def mean_sampled(level, n=40):
        with torch.no_grad():
            return np.mean([float(net.sampled_cost(sample(net.mode_selection, net.vector(level), 1.0, g)))
                            for _ in range(n)])

    before = [mean_sampled(0), mean_sampled(1)]
    assert before[0] < targets[0] and before[1] > targets[1]  # below level 1's, above level 2's
    for step in range(300):
        level = step % 2
        samples = sample(net.mode_selection, net.vector(level), schedule(step), g)
        gmacs = net.sampled_cost(samples)
        loss = net.penalty(gmacs, targets[level], 0.001, -0.001)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = [mean_sampled(0), mean_sampled(1)]
    for level in range(2):
        assert abs(after[level] - targets[level]) < 0.35 * abs(before[level] - targets[level])


def test_landing_is_exact_against_brute_force(fvc):
    space, complexity = fvc
    rng = np.random.default_rng(0)
    scores = [np.log(rng.dirichlet(np.ones(n))) for n in space.group_sizes]
    every = np.indices(space.group_sizes).reshape(len(space.group_sizes), -1).T
    gmacs = complexity.gmacs_of_choices(every)
    total = sum(scores[g][every[:, g]] for g in range(len(scores)))
    for target in (300.0, 200.0, 120.0):
        landing = land(complexity, scores, target)
        window = (gmacs <= target) & (gmacs >= 0.995 * target)
        assert landing.reachable and 0.995 * target <= landing.value <= target
        assert landing.score == pytest.approx(total[window].max(), abs=1e-9)
    low = complexity.range_gmacs()[0]
    between = low + 0.6 * (np.sort(gmacs)[np.searchsorted(np.sort(gmacs), low, "right")] - low)
    landing = land(complexity, scores, float(between))
    assert not landing.reachable and landing.value == pytest.approx(low) and "nearest" in landing.note


def test_interpolated_vector(fvc):
    space, complexity = fvc
    net = Supernet(space, complexity, codec=None, targets=[600.0, 400.0, 200.0])
    v = net.interpolated_vector(450.0)
    assert v.tolist() == pytest.approx([0.25, 0.75, 0.0])
    with pytest.raises(BadInput):
        net.interpolated_vector(700.0)


def test_target_checks():
    assert check_targets([120, 300, 200], 100, 776) == [300, 200, 120]
    for bad in ([300, 300], [50], [900], []):
        with pytest.raises(BadInput):
            check_targets(bad, 100, 776)


@pytest.mark.parametrize("args, words", [
    (["target_gmacs=[5000]"], "outside what the space can reach"),
    (["target_gmacs=[300,300]"], "duplicated"),
    (["target_gmacs=[300]", "tau_floor=0"], "tau_floor"),
    (["target_gmacs=[300]", "tau_schedule=cosine"], "tau_schedule"),
    (["target_gmacs=[300,200]", "interpolate=[900]"], "interpolate"),
])
def test_cli_bad_input(args, words, tmp_path, capsys):
    from search.commands.supernet import main

    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exit_info:
        main(["space=fvc", f"out={out}", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not out.exists()
