"""The read-side tooling over the event store and the projections: replay, verify, shadow
tables, history and time travel, view queries, analyst access."""
