"""Self-tests of the conformance suite (spec chapter 13): it passes, fails and explains itself."""
