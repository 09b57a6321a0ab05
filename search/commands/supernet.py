"""``python -m search.supernet space=fvc target_gmacs=[300,200,120]``: cgSlimDecoder stage 2.

Stage 1 first (unless ``checkpoint=`` gives stage-1 weights), then the supernet with mode selection
under the complexity penalty; each level is landed exactly on its target, ``interpolate=[250]`` serves
targets between the levels. Writes layouts, report and summary to ``results/<space>/supernet-<preset>``
(or ``out=``); the same command resumes.
"""
from __future__ import annotations

from ..config import Command, argv, keys
from ..config.keysets import SUPERNET_EVAL_DEFAULTS, SUPERNET_KEYS
from ..errors import cli_main
from ..pipeline.job import build_job, configure
from ..pipeline.supernet_job import run_supernet_job
from . import stage2_help

COMMAND = Command("search.supernet", __doc__.strip().split("\n\n")[0], keys(*SUPERNET_KEYS),
                  SUPERNET_EVAL_DEFAULTS,
                  epilog=stage2_help)


@cli_main
def main(args: list[str] | None = None) -> int:
    run = configure(COMMAND, argv() if args is None else args, trains=True)
    job = build_job(run.cfg, run.space, lambda targets: f"supernet-{run.cfg.preset}", run.runtime)
    run_supernet_job(job)
    return 0


if __name__ == "__main__":
    main()
