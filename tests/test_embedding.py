"""The complexity vector's embedding: one-hot (the default) or ELF-VC's level embedding (Appendix E)."""
import numpy as np
import pytest
import torch

from search.complexity import Complexity, load_or_measure
from search.errors import BadInput
from search.space import load_space
from search.stage2 import ComplexityEmbedding, Supernet, complexity_vector

TARGETS = [700.0, 610.5, 480.0, 400.0, 333.3, 250.0, 180.0, 120.0]


def blend_of_neighbouring_one_hots(targets, target):
    """The interpolated complexity vector as the supernet computed it before the embedding option
    (verbatim): the two bracketing levels' one-hot vectors, blended linearly in GMACs."""
    for i in range(len(targets) - 1):
        hi, lo = targets[i], targets[i + 1]
        if lo <= target <= hi:
            w = (target - lo) / (hi - lo)
            v = torch.zeros(len(targets))
            v[i], v[i + 1] = w, 1 - w
            return v
    raise AssertionError("not bracketed")


def between_targets(targets, count=200, seed=0):
    rng = np.random.default_rng(seed)
    return list(rng.uniform(min(targets), max(targets), count)) + list(targets)


@pytest.mark.parametrize("kind", ["onehot", "elfvc"])
def test_with_one_dimension_per_level_it_is_the_one_hot_blend_exactly(kind):
    embedding = ComplexityEmbedding(TARGETS, kind, len(TARGETS) if kind == "elfvc" else 0)
    assert embedding.dims == len(TARGETS)
    for i in range(len(TARGETS)):
        assert torch.equal(embedding.level(i), complexity_vector(len(TARGETS), i))
    for target in between_targets(TARGETS):
        assert torch.equal(embedding.target(target), blend_of_neighbouring_one_hots(TARGETS, target))


def test_fewer_dimensions_than_levels_follow_eq_4_to_8():
    embedding = ComplexityEmbedding(TARGETS, "elfvc", 3)
    assert embedding.dims == 3
    for i in range(8):
        s = i * 2 / 7                                  # Eq. 4: s = l (L_e - 1) / (L - 1)
        u = int(np.floor(s))
        expected = np.zeros(4)
        expected[u], expected[u + 1] = 1 - (s - u), s - u
        assert embedding.level(i).tolist() == pytest.approx(expected[:3].tolist(), abs=1e-7)
    # a target between levels i and i + 1 is the level i + fraction, the fraction linear in GMACs
    target = 0.25 * TARGETS[2] + 0.75 * TARGETS[3]
    assert embedding.target(target).tolist() == pytest.approx(
        embedding.embedding.vector(2.75).tolist(), abs=1e-7)
    for target in between_targets(TARGETS, 50):
        vector = embedding.target(target)
        assert (vector >= 0).all() and float(vector.sum()) == pytest.approx(1, abs=1e-6)
    # the vector moves monotonically from the first dimension to the last as the target falls
    firsts = [float(embedding.target(t)[0]) for t in sorted(between_targets(TARGETS, 50), reverse=True)]
    assert all(a >= b - 1e-7 for a, b in zip(firsts, firsts[1:]))


def test_the_supernet_takes_the_embedding():
    space = load_space("fvc")
    complexity = Complexity(load_or_measure(space, (1920, 1080), write=False), space)
    targets = [600.0, 500.0, 400.0, 300.0]
    net = Supernet(space, complexity, codec=None, targets=targets,
                   embedding=ComplexityEmbedding(targets, "elfvc", 2))
    assert net.mode_selection.net[0].in_features == 2
    assert net.vector(3).tolist() == [0, 1] and net.interpolated_vector(550.0).tolist() == \
        pytest.approx([5 / 6, 1 / 6])
    default = Supernet(space, complexity, codec=None, targets=targets)
    assert default.mode_selection.net[0].in_features == 4 and default.embedding.kind == "onehot"
    with pytest.raises(BadInput):
        net.interpolated_vector(650.0)
    with pytest.raises(ValueError):
        Supernet(space, complexity, None, targets, embedding=ComplexityEmbedding([1.0, 0.5]))


@pytest.mark.parametrize("kind, dims, levels", [("onehot", 3, 2), ("elfvc", 1, 3), ("elfvc", -1, 3),
                                                 ("learned", 0, 3)])
def test_bad_embedding(kind, dims, levels):
    with pytest.raises(BadInput):
        ComplexityEmbedding([float(100 * (i + 1)) for i in range(levels)][::-1], kind, dims)


@pytest.mark.parametrize("args, words", [
    (["embedding=learned"], "embedding="),
    (["embedding_dims=2"], "embedding=onehot has one dimension per level (3)"),
    (["embedding=elfvc", "embedding_dims=1"], "embedding_dims=1"),
])
def test_cli_refuses_a_bad_embedding_before_training(args, words, tmp_path, capsys):
    from search.commands.supernet import main

    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exit_info:
        main(["space=fvc", f"out={out}", "target_gmacs=[300,200,120]", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not out.exists()
