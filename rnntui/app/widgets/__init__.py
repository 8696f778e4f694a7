"""Widgets of the lab: plots, the config form, samples, status, log."""
