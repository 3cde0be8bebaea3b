"""Revoice engine: voices, fitting, loudness, rendering. Nothing runs at import."""
