"""The server checks of the conformance suite, one module per spec chapter area."""
