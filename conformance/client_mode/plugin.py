"""Pytest plugin for client conformance mode (placeholder until it lands)."""
