"""The one transaction that publishes an export: old tables and partitions out, new ones in, under a lock timeout.

Everything the swap removes that the database's users built on it comes back: views and materialized views that
read a replaced table are created again from their definitions (with their indexes), and foreign keys that other
tables hold on it are added again. Relations built as `…__new` get their published names, indexes and keys
included, so the database looks exactly as if the new tables had always been there.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from pipelines.pg_shapes import NEW, partitioning, primary_key, shape_of
from pipelines.pg_types import fitted, foreign_key_sql, identifier

if TYPE_CHECKING:
    from pipelines.pg_load import Job

# a reader holding a table longer than this fails the swap instead of queueing every other reader behind it; the
# export then leaves the published tables as they were and says so
LOCK_SECONDS = 10
LOCK_TIMEOUT = f"{LOCK_SECONDS}s"

_DEPENDENT_VIEWS = """
with recursive dependents(oid, depth) as (
    select r.ev_class, 1 from pg_depend d join pg_rewrite r on r.oid = d.objid
    where d.classid = 'pg_rewrite'::regclass and d.refobjid = to_regclass($1) and r.ev_class <> d.refobjid
  union all
    select r.ev_class, dependents.depth + 1 from dependents
    join pg_depend d on d.refobjid = dependents.oid and d.classid = 'pg_rewrite'::regclass
    join pg_rewrite r on r.oid = d.objid and r.ev_class <> d.refobjid
)
select n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid), max(depth)
from dependents join pg_class c on c.oid = dependents.oid join pg_namespace n on n.oid = c.relnamespace
group by n.nspname, c.relname, c.relkind, c.oid
order by max(depth), n.nspname, c.relname"""

_REFERENCING_KEYS = """
select n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid)
from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
where k.contype = 'f' and k.confrelid = to_regclass($1) and k.conparentid = 0 and k.conrelid <> k.confrelid
order by k.conname"""


class Swap:
    def __init__(self, cursor: Any, schema: str):
        self.cursor, self.schema = cursor, schema

    def run(self, db: Any, jobs: list[Job], views: list[tuple[Job, str]]) -> None:
        """Publish `jobs` (built aside, parents first) and create the materialized `views`; the caller commits.

        The order keeps every foreign key true at every statement: merged tables gain their new and changed rows
        first, then children are replaced, and only then do merged tables lose the rows that went."""
        self._lock_all(db, jobs)
        swapped = [job for job in jobs if job.mode == "swap"]
        merged = [job for job in jobs if job.mode == "merge"]
        replaced = {self._target(job.name) for job in swapped}
        dependents, keys = [], []
        for job in swapped:
            dependents += [d for d in self._dependent_views(job.name) if d[0] not in replaced]
            keys += [k for k in self._referencing_keys(job.name) if k[0] not in replaced]
        for job in merged:
            self._upsert(job)
        for job in reversed(swapped):  # children before the tables they point to
            what = "materialized view" if shape_of(job.table).materialized_view else "table"
            self.cursor.execute(f"drop {what} if exists {self._target(job.name)} cascade")
        for job in jobs:
            if job.mode == "partial":
                self._replace_partitions(job)
        for job in reversed(merged):
            self._delete_gone(job)
        self._rename_new()
        for qualified, kind, definition, indexes in _in_order(dependents):
            self.cursor.execute(f"create {'materialized view' if kind == 'm' else 'view'} {qualified} as {definition}")
            for index in indexes:
                self.cursor.execute(index)
        for job, sql in views:
            self.cursor.execute(f"create materialized view {self._target(job.name)} as {sql}")
            key = ", ".join(identifier(c) for c in job.table.key)
            # unique, so that the view can be refreshed concurrently: readers keep reading while it is
            self.cursor.execute(
                f"create unique index {identifier(fitted(job.name + '_key'))} on {self._target(job.name)} ({key})"
            )
        for child, name, definition in keys:
            self.cursor.execute(f"alter table {child} add constraint {identifier(name)} {definition}")
        modes = {job.name: job.mode for job in jobs}
        for job in swapped:  # keys to a merged parent, left out while it lacked the new rows
            for fk in job.table.foreign_keys:
                if modes.get(fk.table) == "merge":
                    key = foreign_key_sql(job.table, fk, self.schema, fk.table)
                    self.cursor.execute(f"alter table {self._target(job.name)} add {key}")

    def _lock_all(self, db: Any, jobs: list[Job]) -> None:
        """Take every published table the swap changes at once, or none: a swap that waited for one table while
        holding another could deadlock with a reader reading both in the other order. When a reader holds one,
        let go and try again, for up to LOCK_SECONDS."""
        self.cursor.execute(
            "select name from unnest(string_to_array($1, chr(10))) as name where to_regclass($2 || '.' || "
            "quote_ident(name)) is not null",
            ("\n".join(job.name for job in jobs if job.mode != "refresh"), identifier(self.schema)),
        )
        published = ", ".join(self._target(name) for (name,) in self.cursor.fetchall())
        if not published:
            return
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            try:
                self.cursor.execute(f"lock table {published} in access exclusive mode nowait")
                return
            except db.Error as error:
                if "55P03" not in str(error) or time.monotonic() > deadline:  # 55P03: lock_not_available
                    raise
                db.rollback()
                time.sleep(random.uniform(0.005, 0.05))

    def _upsert(self, job: Job) -> None:
        """Write the new and changed rows of `<table>__new` into the published table (unchanged rows stay as they
        are, untouched)."""
        columns = [identifier(c.name) for c in job.table.columns]
        key = [identifier(k) for k in primary_key(job.table)]
        values = [c for c in columns if c not in key]
        table = self._target(job.name)
        update = (
            f"do update set {', '.join(f'{c} = excluded.{c}' for c in values)} "
            f"where ({', '.join(f'{table}.{c}' for c in values)}) is distinct from "
            f"({', '.join(f'excluded.{c}' for c in values)})"
            if values else "do nothing"
        )  # fmt: skip
        self.cursor.execute(
            f"insert into {table} ({', '.join(columns)}) select {', '.join(columns)} "
            f"from {self._target(job.name + NEW)} on conflict ({', '.join(key)}) {update}"
        )

    def _delete_gone(self, job: Job) -> None:
        """Delete the rows the new version no longer has, then drop the version built aside."""
        new = self._target(job.name + NEW)
        match = " and ".join(f"n.{identifier(k)} = t.{identifier(k)}" for k in primary_key(job.table))
        self.cursor.execute(
            f"delete from {self._target(job.name)} t where not exists (select from {new} n where {match})"
        )
        self.cursor.execute(f"drop table {new}")

    def _replace_partitions(self, job: Job) -> None:
        """Detach and drop the partitions that changed or went, attach their new tables (their CHECK constraint
        proves the bounds, so ATTACH does not scan them)."""
        parent, scheme = self._target(job.name), partitioning(job.table)
        for value in job.changed + job.removed:
            old = job.old_names.get(value)
            if old:
                self.cursor.execute(f"alter table {parent} detach partition {self._target(old)}")
                self.cursor.execute(f"drop table {self._target(old)}")
        for value in job.changed:
            part = self._target(job.names[value] + NEW)
            self.cursor.execute(f"alter table {parent} attach partition {part} {scheme.bounds(value)}")

    def _rename_new(self) -> None:
        """Give every relation built as `…__new` its published name (tables, partitions, their keys' indexes and
        the other indexes; renaming a key's index renames the key)."""
        self.cursor.execute(
            "select c.relname, c.relkind in ('i', 'I') from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = $1 and c.relkind in ('r', 'p', 'i', 'I') and right(c.relname, 5) = $2",
            (self.schema, NEW),
        )
        for name, is_index in self.cursor.fetchall():
            what = "index" if is_index else "table"
            published = identifier(name[: -len(NEW)])
            self.cursor.execute(f"alter {what} {self._target(name)} rename to {published}")

    def _dependent_views(self, name: str) -> list[tuple[str, str, str, list[str], int]]:
        """Views (and materialized views, with their indexes) reading the published table, readers first."""
        self.cursor.execute(_DEPENDENT_VIEWS, (self._target(name),))
        found = []
        for schema, view, kind, definition, depth in self.cursor.fetchall():
            indexes = []
            if kind == "m":
                self.cursor.execute(
                    "select indexdef from pg_indexes where schemaname = $1 and tablename = $2 order by indexname",
                    (schema, view),
                )
                indexes = [row[0] for row in self.cursor.fetchall()]
            qualified = f"{identifier(schema)}.{identifier(view)}"
            found.append((qualified, kind, definition.rstrip().rstrip(";"), indexes, depth))
        return found

    def _referencing_keys(self, name: str) -> list[tuple[str, str, str]]:
        self.cursor.execute(_REFERENCING_KEYS, (self._target(name),))
        return [(f"{identifier(schema)}.{identifier(child)}", constraint, definition)
                for schema, child, constraint, definition in self.cursor.fetchall()]  # fmt: skip

    def _target(self, name: str) -> str:
        return f"{identifier(self.schema)}.{identifier(name)}"


def _in_order(dependents: list[tuple[str, str, str, list[str], int]]) -> list[tuple[str, str, str, list[str]]]:
    """Each view once (one reading two replaced tables is found twice), after every view it reads: at its
    deepest place."""
    deepest: dict[str, tuple[str, str, str, list[str], int]] = {}
    for found in dependents:
        if found[0] not in deepest or found[4] > deepest[found[0]][4]:
            deepest[found[0]] = found
    return [found[:4] for found in sorted(deepest.values(), key=lambda d: d[4])]
