"""Wiring of the billing ledger: configuration, embedded services, database and the `ledger` CLI."""
