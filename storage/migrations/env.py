"""Alembic environment: runs on the connection handed over by ``storage.database``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the CLI always passes one
    raise RuntimeError("run migrations with `hirfa db upgrade`")

sqlite = connection.dialect.name == "sqlite"
context.configure(connection=connection, target_metadata=metadata, render_as_batch=sqlite)


def _pragma(sql: str, connection: Connection = connection) -> list[tuple[object, ...]]:
    """A pragma on the driver's connection, outside SQLAlchemy's transaction handling (SQLite
    ignores ``foreign_keys`` inside a transaction, and our BEGIN hook would open one)."""
    raw = connection.connection.dbapi_connection
    assert raw is not None  # checked out for this connection
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


# Batch migrations rebuild a SQLite table (create, copy, DROP, rename). With foreign keys on,
# dropping a parent runs an implicit DELETE that cascades into its children (identities,
# enrolments...), so they are off during the upgrade and every reference is checked before commit.
if sqlite and connection.in_transaction():  # pragma: no cover - storage.database never does this
    raise RuntimeError("migrations on SQLite need a connection outside a transaction")
if sqlite:
    _pragma("PRAGMA foreign_keys=OFF")
try:
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = _pragma("PRAGMA foreign_key_check")
            if broken:
                raise RuntimeError(f"migration left dangling references: {broken[:5]}")
finally:
    if sqlite:
        _pragma("PRAGMA foreign_keys=ON")
