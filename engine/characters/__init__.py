"""Characters' voices: profiles built from the actors' own speech, references, tints and clone prompts.

Backends (what speaks) live in :mod:`revoice.engine.voices`; this package holds who speaks.
"""
