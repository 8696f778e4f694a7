"""rnntui: a terminal lab for recurrent neural networks."""

__version__ = "0.1.0"
