"""``python -m search.eval``: the command of :mod:`search.commands.eval`."""
from search.commands.eval import main

if __name__ == "__main__":
    main()
