"""The command line: ``rnntui`` (the TUI), ``--headless`` runs and experiments,
and the ``presets`` and ``inspect`` subcommands.  The entry point is
:func:`rnntui.cli.main.main`."""
