"""`ledger serve`: the HTTP API over the billing ledger, the only way staff reach it.

- app.py: the application factory (what is mounted, in which order) and the service's context;
- auth.py: who is calling (a bearer token) and whether the role matrix allows it;
- credentials.py: passwords (Argon2id) and tokens (SHA-256 of a random secret) in tables
  of the service's own, which can be changed and erased, unlike the event store;
- errors.py: one error shape, RFC 9457 problem+json with the domain's stable code;
- idempotency.py: `Idempotency-Key` for commands that carry no id of their own;
- routes/: the endpoints, one module per resource.
"""
