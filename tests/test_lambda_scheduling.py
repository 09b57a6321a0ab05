"""SlimCAE's lambda-scheduling (search/training/lambda_scheduling.py, the paper's Algorithm 1): the round
decision and the lambda update as pure functions, then a short run on SlimCAE with tiny images whose
recorded rounds must follow Algorithm 1 step by step."""
from __future__ import annotations

import pytest
import torch

from search.codec import load_codec
from search.training.lambda_scheduling import (LambdaScheduling, RDPoint, decide, scaled,
                                               schedule_lambdas, slope)

from conftest import smooth_images

SLIMCAE = load_codec("slimcae")


def point(bpp: float, psnr: float) -> RDPoint:
    return RDPoint(bpp, 10 ** (-psnr / 10))


def test_slope_and_decision():
    """Line 12: no slope while the larger sub-CAE codes at a lower rate; lines 16-18: the slope in PSNR
    per bpp, and the pair stops when it grew over the reference."""
    points = [point(0.2, 28.0), point(0.5, 31.0), point(0.4, 32.0)]
    assert slope(points, 1) == pytest.approx(10.0)
    assert slope(points, 2) is None                        # R^(3) < R^(2)
    assert decide(points, 2, reference=5.0) == (None, False)
    assert decide(points, 1, reference=12.0) == (pytest.approx(10.0), False)   # still decreasing
    assert decide(points, 1, reference=8.0) == (pytest.approx(10.0), True)     # grew: stop
    assert decide(points, 1, reference=None) == (pytest.approx(10.0), False)
    assert point(1.0, 30.0).psnr == pytest.approx(30.0)


def test_lambda_update_scales_the_smaller_sub_caes():
    """Line 8: Lambda_i = [kappa lambda^(1), ..., kappa lambda^(i), lambda^(i+1), ..., lambda^(K)]."""
    assert scaled([100.0, 100.0, 100.0, 100.0], 2, 0.8) == [80.0, 80.0, 100.0, 100.0]
    assert scaled([64.0, 80.0, 100.0], 1, 0.5) == [32.0, 80.0, 100.0]


def test_config_checks():
    with pytest.raises(ValueError, match="kappa"):
        LambdaScheduling(kappa=1.25)  # the paper's D + lambda R value: ours is its inverse, 0.8
    with pytest.raises(ValueError):
        LambdaScheduling(steps_per_round=0)


def images(count: int, seed: int) -> list[torch.Tensor]:
    return [smooth_images(1, 32, seed * 100 + i, coarse=4) for i in range(count)]


@pytest.fixture(scope="module")
def run():
    """Three sub-CAEs of SlimCAE (48, 96, 192 everywhere), 32x32 images, T = 1, M = 2."""
    torch.manual_seed(0)
    codec = SLIMCAE()
    layouts = [SLIMCAE.uniform_layout(w) for w in (48, 96, 192)]
    before = codec.synthesis.deconv3.weight.detach().clone()
    config = LambdaScheduling(kappa=0.8, steps_per_round=1, max_rounds=2, naive_steps=1)
    optimizer = torch.optim.Adam(codec.parameters(), lr=1e-4)
    logged = []
    result = schedule_lambdas(codec, layouts, 512.0, images(2, 0), images(1, 1), optimizer, config,
                              log=logged.append)
    return codec, before, config, result, logged


def test_schedule_follows_algorithm_1(run):
    codec, before, config, result, logged = run
    assert logged == result.rounds and result.rounds
    assert not torch.equal(codec.synthesis.deconv3.weight, before)  # it trained
    assert result.steps == config.naive_steps + len(result.rounds) * config.steps_per_round
    lambdas, points = [512.0] * 3, result.initial_points
    pairs = [r.pair for r in result.rounds]
    assert pairs == sorted(pairs, reverse=True) and set(pairs) == {2, 1}  # i = K-1 .. 1, each tried
    for i in (2, 1):
        rounds = [r for r in result.rounds if r.pair == i]
        assert [r.round for r in rounds] == list(range(1, len(rounds) + 1))
        assert len(rounds) <= config.max_rounds
        assert all(not r.stop for r in rounds[:-1])
        assert rounds[-1].stop or len(rounds) == config.max_rounds
        reference = slope(points, i)  # the pair's slope before its first round (line 4 for K-1)
        for r in rounds:
            lambdas = scaled(lambdas, i, config.kappa)
            assert r.lambdas == pytest.approx(lambdas)
            xi, stop = decide(r.points, i, reference)
            assert (r.slope, r.stop) == (xi, stop)
            reference = xi if xi is not None else reference
            points = r.points
    assert result.lambdas == pytest.approx(lambdas)
    assert result.lambdas[-1] == 512.0  # lambda^(K) is never scheduled
    assert result.lambdas[0] <= result.lambdas[1] <= result.lambdas[2]
    assert all(p.bpp > 0 and p.mse > 0 for r in result.rounds for p in r.points)


def test_bad_inputs():
    codec = SLIMCAE()
    layouts = [SLIMCAE.uniform_layout(w) for w in (48, 192)]
    optimizer = torch.optim.Adam(codec.parameters(), lr=1e-4)
    with pytest.raises(ValueError, match="at least two"):
        schedule_lambdas(codec, layouts[:1], 512.0, images(1, 0), images(1, 1), optimizer)
    with pytest.raises(ValueError, match="ran out"):
        schedule_lambdas(codec, layouts, 512.0, [], images(1, 1), optimizer,
                         LambdaScheduling(naive_steps=1))
