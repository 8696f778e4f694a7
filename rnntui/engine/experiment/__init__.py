"""Experiments: a grid of configs × trials (``grid``), run in worker processes
(``runner``), aggregated into a results table (``results``)."""
