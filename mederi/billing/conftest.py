"""Billing's property tests check what is generated, not how fast: on a machine shared with other
work Hypothesis' time limits (per-example deadline, slow-generation health check) fail correct code."""

from hypothesis import HealthCheck, settings

settings.register_profile("billing", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("billing")
