"""The commands, ``python -m search.<name>``: each parses its keys into the configuration tree and
calls the library. No command imports another."""
