"""Locust load tests for realtime endpoints: `locust -f loadtests` (see loadtests/README.md).

Locust imports every `*.py` in this directory whose name does not start with `_`; that is
`locustfile.py` alone. The helpers (`_histogram`, `_recorder`, `_clients`, `_locust_setup`)
are plain modules without side effects on import.
"""
