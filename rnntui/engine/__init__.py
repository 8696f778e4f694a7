"""Engine: model, trainer, events, checkpoints, run directories.  Imports no Textual."""
