"""The outer search loop: an Optuna multi-objective study over layouts.

Each trial is a layout, one categorical option index per choice group of the space (``space.groups``:
tied layers share one index, so ties hold by construction), named by the group's first layer key;
index 0 is the full width. A trial is scored with the supernet's *shared* weights: the full-width codec
run with hard channel masks at that layout (:meth:`search.codec.Codec.at_layout`), on a fixed
set of validation frame pairs, in one batched forward (:class:`LayoutScorer`). Its two objectives,
both minimised, are the decoder GMACs (closed form, :class:`search.complexity.Complexity`) and the RD
loss ``R + lambda * MSE`` (Eq. 1 of the cgSlimDecoder supplementary, :func:`search.training.rd_loss`).

**Targets as constraints.** Optuna 5 treats a trial as feasible when *all* of its constraint values
(``trial.set_constraint``) are <= 0, and its samplers (TPE, NSGA-II) prefer feasible trials. One
constraint per target ``gmacs - t`` would make only layouts under the *lowest* target feasible and push
the whole search there, starving the higher targets. So the study carries one constraint,
``gmacs - max(targets)`` (key ``"gmacs<=max_target"``): a trial is feasible when it serves at least one
target, and GMACs, being an objective, spreads the Pareto front over all of them. Per-target
feasibility is recorded beside it as user attributes ``gap@<t> = gmacs - t`` and ``feasible@<t>``,
and the chosen architecture of target ``t`` is the trial with ``gmacs <= t`` and the lowest RD loss.

**Storage and resuming.** The study lives in ``<out>/study.db`` (SQLite, ``optuna-dashboard`` opens
it), study name :data:`STUDY_NAME`. Running again on the same folder keeps every finished trial and
counts it toward ``trials=``; no layout is scored twice (a sampler proposal equal to a finished, running
or queued layout is recorded as PRUNED with ``duplicate_of`` and not scored). The sampler's seed is
derived from ``(seed, finished trials)``, so the same seed on the same folder gives the same trials
and a resumed run does not replay the first run's random proposals. Every storage write (study
creation, enqueueing, ``ask`` with the duplicate check, ``tell``) happens under an exclusive
``fcntl`` lock on ``<out>/study.lock``, so several processes may share one folder: together they
finish exactly ``trials`` trials, none twice. A trial left RUNNING by a killed process of this host
is marked FAIL on the next start, and its layout is scored again.

**Enqueued first trials**: the supernet's landed level layouts (``source="enqueued-supernet"``), then
the uniform-slimming layouts ``space.uniform_layout(i)`` (``source="enqueued-uniform"``, the
SlimVC-style baseline); sampled trials have ``source="sampled"``.

**Ray.** ``backend="ray"`` runs the same objective as Ray Tune function trials, searched by a subclass
of Ray's ``OptunaSearch`` given the same storage, study name and sampler, so the trials land in the
same ``study.db`` (Tune's own files go to ``<out>/ray``). The driver does the duplicate check in
``suggest`` and records GMACs, constraint and user attributes in ``on_trial_complete``; workers only
score. The scorer is put into Ray's object store once and cached per worker process (module-level
cache keyed by a token), not shipped per trial.
"""
from .export import Exported, export_architecture, load_architecture
from .pareto import pareto_front
from .bands import Band, BandProjector, bands_of
from .baselines import UniformBaseline, grid_uniform_below, uniform_at
from .results import Chosen, StudyResult, choose, first_layouts, trials_frame
from .scorer import LayoutScorer, Score, standard_error, validation_pairs
from .search import check_outer, run_study
from .study import STUDY_FILE, STUDY_NAME, Study, layout_of_params, param_names, params_of

__all__ = ["Exported", "export_architecture", "load_architecture", "pareto_front", "Chosen",
           "StudyResult", "choose", "first_layouts", "trials_frame", "Band", "BandProjector", "bands_of",
           "UniformBaseline", "grid_uniform_below", "uniform_at", "LayoutScorer",
           "Score", "standard_error", "validation_pairs", "check_outer", "run_study", "STUDY_FILE", "STUDY_NAME", "Study",
           "layout_of_params", "param_names", "params_of"]
