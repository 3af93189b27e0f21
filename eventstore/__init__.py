"""The event-store adapter: the eventsourcing PostgreSQL recorder with the ledger's own columns,
indexes and JSON transcoding; the application opened on it."""
