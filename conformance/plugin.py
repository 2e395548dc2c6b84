"""Pytest plugin for the conformance suite (placeholder until the suite lands)."""
