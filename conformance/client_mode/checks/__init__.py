"""Client conformance checks: each judges one recorded run of the client against a case."""
