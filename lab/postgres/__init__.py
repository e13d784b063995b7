"""The lab's PostgreSQL 15: a cluster of its own serving opsctl's state store (and, later, more)."""
