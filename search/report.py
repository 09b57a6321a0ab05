"""``python -m search.report``: the command of :mod:`search.commands.report`."""
from search.commands.report import main

if __name__ == "__main__":
    main()
