"""The lake's core, below its layers: where the lake is and how it is laid out (lake, store, plan), publication
and its durability, the lock, the DuckDB connection and checks, errors, logs, retries, progress and fault
injection. bronze, silver and gold import it; nothing here imports them or the orchestration in `pipelines`."""
