"""``python -m search.supernet``: the stage-2 command (:mod:`search.commands.supernet`)."""
from search.commands.supernet import main

if __name__ == "__main__":
    main()
