"""Contracts of the telecom domain (WTC prepared layers)."""

from contracts.telecom import prepared, silver

TABLES = silver.TABLES + prepared.TABLES
