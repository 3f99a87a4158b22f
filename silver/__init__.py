"""Silver: bronze rows validated against their contracts, deduplicated and written as Parquet by polars; and the
tables computed from them (trade settlements)."""
