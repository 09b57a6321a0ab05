"""The closed-form GMACs of any layout, from a profile: ``x^T Q x`` per report module.

With ``x = [widths..., 1]`` the MACs of a layout are the quadratic form ``x^T Q x`` summed over the
modules, which equals fvcore's count of the decoder built at that layout to the MAC (tests check it on
random layouts). The same form is also written over one-hot option indicators (one block per choice
group): that is what searches score, and what the supernet differentiates (Eq. 2-3 of the
cgSlimDecoder supplementary; :mod:`search.stage2.gumbel.selection`).

Evaluated in float64, which is exact here: every partial sum is an integer below 2**53.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..space import Space
from .profile import Profile


class Complexity:
    """Closed-form MACs of layouts from a profile: ``x^T Q x`` per report module.

    Also a cost of the search (:class:`search.complexity.cost.Cost`) in GMACs: what stage 2 penalises
    and lands on, and what the outer loop's bands hold, under ``objective=gmacs``."""

    name = "gmacs"
    unit = "GMACs"

    def __init__(self, profile: Profile, space: Space):
        self.profile, self.space = profile, space
        self.keys = list(space.layers)
        self.index = {k: i for i, k in enumerate(self.keys)}
        n = len(self.keys) + 1
        self.module_q = {m.name: np.zeros((n, n)) for m in space.modules}
        for term in profile.terms:
            a, b = self._vector(term.a), self._vector(term.b)
            self.module_q[space.module_of(term.row)] += term.coefficient * np.outer(a, b)
        self.decoder_modules = [m.name for m in space.decoder_modules]
        self.q = sum((self.module_q[m] for m in self.decoder_modules), np.zeros((n, n)))
        self.q = (self.q + self.q.T) / 2  # symmetric: halves of integers stay exact in float64
        self._options = space.option_matrix()
        self.offsets, self.choice_q = self._one_hot_form()

    def _one_hot_form(self) -> tuple[np.ndarray, np.ndarray]:
        """The same quadratic form over one-hot option indicators (one block per group, then 1):
        ``E`` maps indicators to ``[widths..., 1]`` so that ``P = E Q E^T``. Searches score choices,
        and this skips building the width rows."""
        sizes = self.space.group_sizes
        offsets = np.concatenate([[0], np.cumsum(sizes)])[:-1].astype(np.int64)
        e = np.zeros((sum(sizes) + 1, len(self.keys) + 1))
        e[-1, :-1] = self.layout_array(self.space.full_layout())[0]
        e[-1, -1] = 1
        for g, (group, table) in enumerate(zip(self.space.groups, self._options)):
            columns = [self.index[k] for k in group]
            e[-1, columns] = 0
            e[offsets[g]:offsets[g] + sizes[g], columns] = table
        return offsets, e @ self.q @ e.T

    def _vector(self, width: tuple[list, int]) -> np.ndarray:
        terms, const = width
        v = np.zeros(len(self.keys) + 1)
        for key, mult in terms:
            v[self.index[key]] += mult
        v[-1] = const
        return v

    # -- layouts as arrays --------------------------------------------------------------------------

    def layout_array(self, layouts: Mapping[str, int] | Sequence[Mapping[str, int]]) -> np.ndarray:
        if isinstance(layouts, Mapping):
            layouts = [layouts]
        return np.array([[lay[k] for k in self.keys] for lay in layouts], dtype=np.float64)

    # -- MACs ---------------------------------------------------------------------------------------

    def macs_array(self, widths: np.ndarray, q: np.ndarray | None = None) -> np.ndarray:
        """MACs of [B, layers] width rows (float64, exact integers)."""
        q = self.q if q is None else q
        x = np.concatenate([widths, np.ones((len(widths), 1))], axis=1)
        return np.rint(np.einsum("bi,bi->b", x @ q, x))

    def gmacs(self, layout: Mapping[str, int]) -> float:
        return float(self.macs_array(self.layout_array(layout))[0]) / 1e9

    def macs(self, layout: Mapping[str, int]) -> int:
        return int(round(float(self.macs_array(self.layout_array(layout))[0])))

    def macs_of_choices(self, choices: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Decoder MACs of [B, groups] option indices, in cache-sized chunks of one-hot rows."""
        choices = np.asarray(choices, dtype=np.int64)
        out = np.empty(len(choices))
        width = self.choice_q.shape[0]
        for start in range(0, len(choices), chunk):
            block = choices[start:start + chunk]
            x = np.zeros((len(block), width))
            x[np.arange(len(block))[:, None], self.offsets + block] = 1.0
            x[:, -1] = 1.0
            out[start:start + len(block)] = np.einsum("bi,bi->b", x @ self.choice_q, x)
        return np.rint(out)

    def gmacs_of_choices(self, choices: np.ndarray) -> np.ndarray:
        return self.macs_of_choices(choices) / 1e9

    def module_macs(self, layout: Mapping[str, int]) -> dict[str, int]:
        x = self.layout_array(layout)
        return {name: int(round(float(self.macs_array(x, q)[0])))
                for name, q in self.module_q.items()}

    def submodule_macs(self, layout: Mapping[str, int], submodules: Sequence[str]) -> int:
        """MACs of the codec's top-level modules ``submodules`` (an exported part's) at ``layout``:
        the profile's terms under those module paths, ``coefficient * a * b`` each."""
        x = np.append(self.layout_array(layout)[0], 1.0)
        names = set(submodules)
        return int(round(sum(term.coefficient * float(self._vector(term.a) @ x)
                             * float(self._vector(term.b) @ x)
                             for term in self.profile.terms if term.path.split(".")[0] in names)))

    # -- the cost interface (GMACs) -----------------------------------------------------------------

    @property
    def unit_q(self) -> np.ndarray:
        """The quadratic form over one-hot option indicators, in GMACs."""
        return self.choice_q / 1e9

    def of_choices(self, choices: np.ndarray) -> np.ndarray:
        return self.gmacs_of_choices(choices)

    def of_layout(self, layout: Mapping[str, int]) -> float:
        return self.gmacs(layout)

    def range(self) -> tuple[float, float]:
        return self.range_gmacs()

    def range_gmacs(self) -> tuple[float, float]:
        """(smallest, full) decoder GMACs over the space's layouts (exact: MACs grow with widths)."""
        smallest = self.space.layout_of([n - 1 for n in self.space.group_sizes])
        return self.gmacs(smallest), self.gmacs(self.space.full_layout())
