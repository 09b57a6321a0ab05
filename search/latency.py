"""``python -m search.latency``: the command of :mod:`search.commands.latency`."""
from search.commands.latency import main

if __name__ == "__main__":
    main()
