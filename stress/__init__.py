"""Reliability figures under load and faults, against a private stack (`python -m stress`)."""
