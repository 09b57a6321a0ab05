"""``python -m search.compare``: the command of :mod:`search.commands.compare`."""
from search.commands.compare import main

if __name__ == "__main__":
    main()
