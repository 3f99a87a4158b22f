"""Engines that run gold models besides DuckDB (the default): Apache Spark, for lakes that outgrow one machine."""
