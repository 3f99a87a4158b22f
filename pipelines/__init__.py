"""Orchestration: runs, publication, catalog, logs and the command line."""
