"""The store: finished stints and agent state changes, kept for analysts, screens and reports.

SQLite by default (one file, WAL); PostgreSQL for larger sites, behind the same class. Writes are
idempotent (a stint replayed after a crash or a reconnect is stored once), so the store's sink
can be fed again from the journal without double counting.
"""

from callcenter.store.sql import SqlStore, StoreError, open_store

__all__ = ["SqlStore", "StoreError", "open_store"]
