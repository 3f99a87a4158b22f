"""Contracts of the ratings domain (daily customer-rating files from agencies)."""

from contracts.ratings import gold, silver

TABLES = silver.TABLES + gold.TABLES
