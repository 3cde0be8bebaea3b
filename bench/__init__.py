"""Benchmarks for Revoice: ``python -m bench`` lists them, ``python -m bench NAME [options]`` runs one."""
