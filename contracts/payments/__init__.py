"""Contracts of the payments domain (Batch Analytics Platform)."""

from contracts.payments import gold, silver

TABLES = silver.TABLES + gold.TABLES
