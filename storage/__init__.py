"""Storage: the schema, migrations and repositories (SQLAlchemy Core; SQLite by default).

Repositories are plain async functions that take an ``AsyncConnection``; they never commit. The
caller (the dialogue engine, the outbox sender, a CLI command) owns the transaction.
"""
