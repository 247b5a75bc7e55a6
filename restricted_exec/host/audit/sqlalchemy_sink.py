"""An audit sink for any database SQLAlchemy reaches (PostgreSQL, MySQL, ...).

Optional: ``pip install 'restricted_exec[sqlalchemy]'``. The table has the same
columns and indexes as the SQLite sink's, so the same queries apply.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from restricted_exec.host.audit.record import AuditRecord

__all__ = ["SQLAlchemySink"]

# Columns added after the first release: nullable, so a table written before gains them.
_ADDED_COLUMNS = ("caller",)


def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise ImportError(
            "SQLAlchemySink needs SQLAlchemy: pip install 'restricted_exec[sqlalchemy]'"
        ) from None
    return sqlalchemy


class SQLAlchemySink:
    """Writes batches into the ``runs`` table at ``url`` (created if missing).

    Args:
        url: a SQLAlchemy database URL (``postgresql+psycopg://...``).
        table_name: the table to write.
    """

    def __init__(self, url: str, *, table_name: str = "runs") -> None:
        sa = _sqlalchemy()
        self._sa = sa
        self.engine = sa.create_engine(url)
        metadata = sa.MetaData()
        self.table = sa.Table(
            table_name,
            metadata,
            sa.Column("run_id", sa.String(32), primary_key=True),
            sa.Column("started_at", sa.Float, nullable=False, index=True),
            sa.Column("tenant", sa.String(200), nullable=False, index=True),
            sa.Column("caller", sa.String(200), index=True),
            sa.Column("code_sha256", sa.String(64), nullable=False, index=True),
            sa.Column("code", sa.Text, nullable=False),
            sa.Column("code_truncated", sa.Boolean, nullable=False),
            sa.Column("inputs_sha256", sa.String(64)),
            sa.Column("policy_sha256", sa.String(64), nullable=False),
            sa.Column("status", sa.String(32), nullable=False, index=True),
            sa.Column("duration_ms", sa.Float, nullable=False),
            sa.Column("cpu_ms", sa.Float),
            sa.Column("peak_rss_kb", sa.Integer),
            sa.Column("stdout", sa.Text, nullable=False),
            sa.Column("stdout_truncated", sa.Boolean, nullable=False),
            sa.Column("error_type", sa.String(200)),
            sa.Column("error_message", sa.Text),
            sa.Column("cache_hit", sa.Boolean, nullable=False),
            sa.Column("isolation", sa.String(16), nullable=False),
        )
        metadata.create_all(self.engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """A table written before a column was added gains it, nullable (earlier rows read
        NULL), and its index, which create_all does not add to a table that exists."""
        sa, table = self._sa, self.table
        for name in _ADDED_COLUMNS:
            if name in self._columns():
                continue
            kind = table.c[name].type.compile(dialect=self.engine.dialect)
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        sa.text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}")
                    )
            except sa.exc.DBAPIError:
                if name not in self._columns():  # not another replica's doing: a real failure
                    raise
            for index in table.indexes:
                if [column.name for column in index.columns] == [name]:
                    index.create(self.engine, checkfirst=True)

    def _columns(self) -> set[str]:
        inspector = self._sa.inspect(self.engine)
        return {column["name"] for column in inspector.get_columns(self.table.name)}

    def write(self, records: Sequence[AuditRecord]) -> None:
        with self.engine.begin() as connection:  # one transaction per batch
            connection.execute(self.table.insert(), [record.row() for record in records])

    def apply_retention(self, max_age_s: float | None, max_rows: int | None) -> int:
        sa, table = self._sa, self.table
        removed = 0
        with self.engine.begin() as connection:
            if max_age_s is not None:
                cutoff = time.time() - max_age_s
                removed += connection.execute(
                    table.delete().where(table.c.started_at < cutoff)
                ).rowcount
            if max_rows is not None:
                # Count, then delete only the oldest excess: an OFFSET past the newest
                # max_rows would walk all of them on every pass (once a second).
                count = connection.execute(sa.select(sa.func.count()).select_from(table))
                excess = int(count.scalar_one()) - max_rows
                if excess > 0:
                    # A derived table, which every dialect accepts inside IN (MySQL
                    # refuses a LIMIT directly in an IN subquery).
                    stale = (
                        sa.select(table.c.run_id)
                        .order_by(table.c.started_at, table.c.run_id)
                        .limit(excess)
                        .subquery()
                    )
                    removed += connection.execute(
                        table.delete().where(table.c.run_id.in_(sa.select(stale.c.run_id)))
                    ).rowcount
        return removed

    def read_all(self) -> list[AuditRecord]:
        """Every stored run, oldest first (for tools and tests)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                self.table.select().order_by(self.table.c.started_at)
            ).mappings()
            return [AuditRecord.from_row(dict(row)) for row in rows]

    def close(self) -> None:
        self.engine.dispose()
