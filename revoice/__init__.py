"""Revoice command line and top-level wiring."""
