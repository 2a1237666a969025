"""Shared test configuration: hypothesis profiles.

* ``ci`` (selected when CI=true): derandomized, so every CI run checks the same examples;
* ``dev`` (default): random, a little lighter;
* ``campaign``: long runs, chosen explicitly with ``HYPOTHESIS_PROFILE=campaign``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("campaign", max_examples=20_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])

_default = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))
