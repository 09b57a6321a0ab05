"""``python -m search.report space=fvc [layouts=a.yaml,b.yaml] [format=md|tex|csv]``.

Prints (or writes to ``out=``) the Table S1-S3 style structure table of a space: the original decoder
and each given layout, one row per layer in the paper's notation, GMAC rows per module and in total.
"""
from __future__ import annotations

from ..config import Command, argv, keys
from ..config.keysets import DEVICE_KEY
from ..errors import cli_main
from ..files import atomic_write
from ..pipeline.job import configure
from ..pipeline.report_job import render_report
from . import codecs_help

COMMAND = Command("search.report", __doc__.strip().split("\n\n")[1], keys(
    "space", "layouts=report.layouts", "format=report.format", "resolution", "out",
    "profile_dir=profile.dir", DEVICE_KEY),
                  epilog=codecs_help)


@cli_main
def main(args: list[str] | None = None) -> int:
    run = configure(COMMAND, argv() if args is None else args)
    text = render_report(run.cfg, run.space)
    if run.cfg.out:
        print(f"wrote {atomic_write(run.cfg.out, text)}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    main()
