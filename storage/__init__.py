"""Storage: the schema, migrations and repositories (SQLAlchemy Core; SQLite by default).

Repositories are plain async functions that take a ``storage.database.Conn``; they never commit. The
caller (the dialogue engine, the outbox sender, a CLI command) owns the transaction.
"""
