"""Process exit codes of the command line (shared by the single-run and experiment runners)."""

EXIT_OK = 0
EXIT_FAILED = 1  # training failed (non-finite loss, an error); for an experiment: any run failed
EXIT_BAD_INPUT = 2  # a flag, key, value, preset file, output path or checkpoint is unusable
EXIT_INTERRUPTED = 130  # Ctrl-C: the run stopped cleanly and its results were written
EXIT_PIPE = 141  # the reader of stdout/stderr left (`| head`): the run stopped cleanly, as for Ctrl-C
EXIT_TERMINATED = 143  # SIGTERM: the run stopped cleanly, as for Ctrl-C
