"""Predicted decode time of any layout from a latency table, as the same kind of quadratic form over
one-hot option indicators as the GMAC closed form (:class:`search.complexity.Complexity`), so a
search scores latency exactly as it scores GMACs.

With ``x`` the one-hot indicators of a layout's options (one block per group, offsets as the closed
form's) and a trailing 1, the predicted milliseconds are ``x^T unit_q x``: a module whose widths
depend on no group adds its time to the constant ``[-1, -1]``; on one group ``g``, its time at
option ``o`` to the diagonal ``[g_o, g_o]`` (``x_i^2 = x_i`` for indicators); on two groups ``g`` and
``h``, half its time at ``(o, q)`` to ``[g_o, h_q]`` and to ``[h_q, g_o]``. A module over more than two
groups (an input concatenating several layers' outputs: FVC's refinement convolution, DCVC's context
decoder) is its time scaled by its MACs, the fit ``c0 + c1 * a * b``: a quadratic form in the widths,
mapped to indicators as the closed form maps its own. Then the calibration: ``unit_q * alpha``, plus
``beta`` at ``[-1, -1]``.
"""
from __future__ import annotations

import itertools
from typing import Mapping

import numpy as np

from ..space import Space
from .fit import groups_of, sum_ms
from .table import LatencyTable, ModuleCells


class LatencyModel:
    """Predicted milliseconds of layouts (the cost interface a search uses like the GMAC closed
    form): ``offsets``, the symmetric ``unit_q``, :meth:`of_choices`, :meth:`of_layout`,
    :meth:`range`."""

    unit = "ms"
    name = "ms"  # keys a search's figures: target_ms, landed_ms, the trials' ms column

    def __init__(self, table: LatencyTable, space: Space):
        if table.space != space.name:
            raise ValueError(f"latency table of space {table.space!r} given for space {space.name!r}")
        self.table, self.space = table, space
        sizes = space.group_sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])[:-1].astype(np.int64)
        self._options = space.option_matrix()
        q = np.zeros((sum(sizes) + 1, sum(sizes) + 1))
        for module in table.modules:
            q += self._module_form(module)
        q = q * table.alpha
        q[-1, -1] += table.beta
        self.unit_q = (q + q.T) / 2

    # -- building the form ---------------------------------------------------------------------------

    def _layout_at(self, picks: Mapping[int, int]) -> dict[str, int]:
        """The full layout with group ``g`` at option ``picks[g]``."""
        layout = self.space.full_layout()
        for g, index in picks.items():
            layout.update(zip(self.space.groups[g], (int(w) for w in self._options[g][index])))
        return layout

    def _module_form(self, module: ModuleCells) -> np.ndarray:
        """One module's (uncalibrated) milliseconds as a matrix over indicators."""
        n = sum(self.space.group_sizes) + 1
        q = np.zeros((n, n))
        groups = groups_of(module, self.space)
        if len(groups) > 2 or module.fit_only:
            return self._fit_form(module)
        sizes = self.space.group_sizes
        for combo in itertools.product(*(range(sizes[g]) for g in groups)):
            ms = module.ms_of_layout(self._layout_at(dict(zip(groups, combo))))
            index = [int(self.offsets[g]) + o for g, o in zip(groups, combo)]
            if not index:
                q[-1, -1] += ms
            elif len(index) == 1:
                q[index[0], index[0]] += ms
            else:
                q[index[0], index[1]] += ms / 2
                q[index[1], index[0]] += ms / 2
        return q

    def _fit_form(self, module: ModuleCells) -> np.ndarray:
        """``c0 + c1 * a * b`` over widths ``w = [layer widths..., 1]``, mapped to indicators by
        ``E`` (indicators -> widths, as :meth:`Complexity._one_hot_form`): ``E (c1 a b^T + c0) E^T``."""
        keys = list(self.space.layers)
        index = {k: i for i, k in enumerate(keys)}

        def vector(width) -> np.ndarray:
            v = np.zeros(len(keys) + 1)
            for key, mult in width[0]:
                v[index[key]] += mult
            v[-1] = width[1]
            return v
        form = module.fit[1] * np.outer(vector(module.a), vector(module.b))
        form[-1, -1] += module.fit[0]
        return self._indicators() @ form @ self._indicators().T

    def _indicators(self) -> np.ndarray:
        """``E``: one row per option indicator and a last row for the constant 1, giving widths."""
        keys = list(self.space.layers)
        index = {k: i for i, k in enumerate(keys)}
        sizes = self.space.group_sizes
        e = np.zeros((sum(sizes) + 1, len(keys) + 1))
        e[-1, :-1] = [self.space.full_layout()[k] for k in keys]
        e[-1, -1] = 1
        for g, (group, table) in enumerate(zip(self.space.groups, self._options)):
            columns = [index[k] for k in group]
            e[-1, columns] = 0
            e[self.offsets[g]:self.offsets[g] + sizes[g], columns] = table
        return e

    # -- predictions ---------------------------------------------------------------------------------

    def of_choices(self, choices: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Predicted ms of [B, groups] option indices: ``x^T unit_q x`` per row."""
        choices = np.atleast_2d(np.asarray(choices, dtype=np.int64))
        out = np.empty(len(choices))
        for start in range(0, len(choices), chunk):
            block = choices[start:start + chunk]
            x = np.zeros((len(block), self.unit_q.shape[0]))
            x[np.arange(len(block))[:, None], self.offsets + block] = 1.0
            x[:, -1] = 1.0
            out[start:start + len(block)] = np.einsum("bi,bi->b", x @ self.unit_q, x)
        return out

    def of_layout(self, layout: Mapping[str, int]) -> float:
        """Predicted ms of a layout, summed module by module then calibrated: equal to
        :meth:`of_choices` on the option grid; off it (``space.scaled_layout``), cells the table
        lacks come from each module's fit."""
        return float(self.table.alpha * sum_ms(self.table.modules, layout) + self.table.beta)

    def range(self) -> tuple[float, float]:
        """(predicted ms of the smallest layout, of the full layout): the last option of every
        group, and the first."""
        smallest = self.space.layout_of([n - 1 for n in self.space.group_sizes])
        return self.of_layout(smallest), self.of_layout(self.space.full_layout())
