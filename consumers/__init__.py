"""The long-running processes: usage ingest, the ledger relay, and the projector."""
