"""Gold: star schemas and aggregates as DuckDB SQL models, one per file."""
