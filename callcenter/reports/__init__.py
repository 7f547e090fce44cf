"""What analysts take away from the store: exports (tables in CSV, JSON, Excel, Parquet) and the
monthly service report. The tables are built by pure functions; only the writers touch files."""
