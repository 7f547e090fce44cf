"""What analysts take away from the store: exports (tables in CSV, JSON, Excel, Parquet) and the
monthly service report. The tables are built by pure functions; only the writers touch files."""

# What `callcenter export` and /api/export/ offer (here: the CLI lists them without importing them)
TABLES = ("stints", "journeys", "agents", "kpis", "sessions", "pauses", "rings", "tickets")
