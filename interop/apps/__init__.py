"""fal apps exactly as a fal user writes them, moved to the reference by changing imports only."""
