"""The billing domain: pure Python, event-sourced with the `eventsourcing` library.

Nothing here imports Kafka or PostgreSQL, and nothing reads the clock: business time
comes in as an argument and becomes each event's timestamp.

One module or package per bounded context: accounts/ (the customer account with its
receivables and collections), usage.py, support.py (support cases), roles.py (staff and
roles), numbering.py (number series), policy.py (the collections policy book). The
application (application.py) gets, calls and saves; what it asks of the store beyond that
is the LedgerIndex port (ledger_index.py).
"""
