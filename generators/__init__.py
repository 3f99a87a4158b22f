"""Generators of bronze data: deterministic, parallel, column-wise."""
