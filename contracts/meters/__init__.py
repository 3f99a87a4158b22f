"""Contracts of the smart-meter billing domain."""

from contracts.meters import aggregates, gold, silver

TABLES = silver.TABLES + gold.TABLES + aggregates.TABLES
