"""The snapshot store: immutable Parquet snapshots, the DuckDB catalog over them, the SQL runner, the derived tables."""
