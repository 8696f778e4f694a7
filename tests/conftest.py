"""Shared test set-up.

Ray: the tests' Ray instances are private and loopback-only.  The environment
is set here, before anything imports ray (Ray reads these when it is imported
or started): nodes on 127.0.0.1 (Ray's single-machine switch; otherwise even a
one-node instance binds the machine's network address), no token file written
into the home directory, no usage reporting.
"""

from __future__ import annotations

import importlib
import logging
import os

import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def import_ray():
    """ray, or a skip where the extra is not installed; under CI (which installs
    it) a missing ray fails instead of skipping."""
    if os.environ.get("CI"):
        return importlib.import_module("ray")
    return pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    """One Ray instance for a test module (starting one costs seconds): 2 CPUs,
    no dashboard; shut down when the module's tests are done."""
    ray = import_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        yield ray
    finally:
        ray.shutdown()
