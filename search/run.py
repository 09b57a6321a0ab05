"""``python -m search.run``: the command of :mod:`search.commands.run`."""
from search.commands.run import main

if __name__ == "__main__":
    main()
