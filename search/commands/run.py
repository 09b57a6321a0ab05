"""``python -m search.run space=fvc target_gmacs=[300,200,120]``: from a space and targets to chosen
architectures you can train.

Trains the supernet (stage 1 unless ``checkpoint=`` gives stage-1 weights, then stage 2 with the
preset; ``preset=quick`` fits 2 CPU cores, ``preset=paper`` is the papers' GPU settings), runs the outer
search (Optuna in SQLite, or ``backend=ray``), and writes ``results/<space>/<preset>-<targets>-seed<seed>/``
(or ``out=``): config, profile, summary, structure report, Pareto plots, trials, the study, and each
chosen architecture as a training config. The same command resumes a killed run.
"""
from __future__ import annotations

from ..config import Command, argv, keys
from ..config.keysets import OUTER_KEYS, RUN_EVAL_DEFAULTS, SUPERNET_KEYS
from ..errors import cli_main
from ..pipeline.job import build_job, configure
from ..pipeline.checks import check_search
from ..pipeline.main_job import default_out, run_main_job
from . import stage2_help

COMMAND = Command("search.run", __doc__.strip().split("\n\n")[0],
                  keys(*SUPERNET_KEYS, *OUTER_KEYS, "lmbda=lambdas"), RUN_EVAL_DEFAULTS,
                  epilog=stage2_help)


@cli_main
def main(args: list[str] | None = None) -> int:
    run = configure(COMMAND, argv() if args is None else args, main_job=True, trains=True)
    check_search(run.cfg, run.space)
    job = build_job(run.cfg, run.space, default_out(run.cfg.preset, run.cfg.seed, run.cfg.lambdas,
                                                           run.cfg.supernet.objective),
                    run.runtime)
    run_main_job(job)
    return 0


if __name__ == "__main__":
    main()
