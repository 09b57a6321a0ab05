"""``python -m search.export``: the command of :mod:`search.commands.export`."""
import sys

from search.commands.export import main

if __name__ == "__main__":
    sys.exit(main())
