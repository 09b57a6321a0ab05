"""The commands, ``python -m search.<name>``: each parses its keys into the configuration tree and
calls the library. No command imports another; what several print in ``--help`` is here."""
from __future__ import annotations

from ..codec import codec_list


def codecs_help() -> str:
    """The registered codecs, what each codes and where it comes from."""
    return codec_list()


def stage2_help() -> str:
    """The codecs, then stage 2's selectors (``selector=``)."""
    from ..stage2 import SELECTORS

    return codec_list() + "\nselectors (selector=):\n" + "\n".join(
        f"  {s.name:<11} {s.description}" for s in SELECTORS.values())
