"""The command line: ``rnntui`` (the TUI), ``--headless`` runs and experiments,
and the ``presets`` and ``inspect`` subcommands.  The process entry
point is :func:`rnntui.cli.entry.main` (it guards start-up, then calls
:func:`rnntui.cli.main.main`)."""
