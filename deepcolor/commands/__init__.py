"""Subcommands of the ``deepcolor`` CLI, one module each (see :mod:`deepcolor.cli`)."""
