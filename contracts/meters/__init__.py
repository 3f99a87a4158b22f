"""Contracts of the smart-meter billing domain."""

from contracts.meters import gold, silver

TABLES = silver.TABLES + gold.TABLES
