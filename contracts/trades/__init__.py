"""Contracts of the trades domain (neotransact)."""

from contracts.trades import gold, silver

TABLES = silver.TABLES + gold.TABLES
