"""``python -m search.profile``: the command of :mod:`search.commands.profile`."""
from search.commands.profile import main

if __name__ == "__main__":
    main()
