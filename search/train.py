"""``python -m search.train``: the command of :mod:`search.commands.train`."""
from search.commands.train import main

if __name__ == "__main__":
    main()
