"""The billing domain: pure Python, event-sourced with the `eventsourcing` library.

Nothing here imports Kafka or PostgreSQL, and nothing reads the clock: business time
comes in as an argument and becomes each event's timestamp.
"""
