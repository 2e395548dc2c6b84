"""Client adapters (not part of the suite core; they may import the clients they drive)."""
