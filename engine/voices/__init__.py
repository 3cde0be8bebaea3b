"""Voice backends and their registry."""
