"""The Revoice panel (PyQt6)."""
