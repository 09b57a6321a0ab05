"""The jobs the commands run, composed from the library: configure, train, search, report."""
