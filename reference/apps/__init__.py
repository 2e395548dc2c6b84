"""Apps the reference server hosts."""
