"""Production-app mode: protocol checks that need no conformance app (spec chapter 13.4)."""
