"""The ``rankwise`` command line (one module per command)."""
