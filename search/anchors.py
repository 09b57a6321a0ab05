"""``python -m search.anchors``: the command of :mod:`search.commands.anchors`."""
from search.commands.anchors import main

if __name__ == "__main__":
    main()
