"""User-facing errors: one line on stderr, exit status 2, no traceback."""
from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable[..., int | None])


class BadInput(ValueError):
    """Something the user gave is wrong. The message says what, where, and what would be accepted."""


def cli_main(func: F) -> F:
    """Wrap a command's ``main``: a :class:`BadInput` becomes one stderr line and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BadInput as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise SystemExit(130) from None

    return wrapper  # type: ignore[return-value]
