"""Turn raw text records into typed rows, naming every contract rule each row breaks.

Nothing is nulled or rounded quietly: a value that does not parse exactly, or breaks a range, an allowed set, a
pattern, a row check or a foreign key, puts the rule's name in the row's `_failed_rules`; the caller quarantines
any row whose list is not empty. Surrounding whitespace is insignificant and an empty field is a missing value.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

import contracts
from bronze.records import ERROR, FIELD_COUNT
from contracts.schema import Column, Table

RULES = "_failed_rules"
BROKEN = "_broken"  # whether the row breaks any rule


def canonical_key(value: pl.Expr) -> pl.Expr:
    """Spelling-insensitive key of a code: upper case letters and digits only ("a 1" and "A-1" -> "A1")."""
    return value.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")


def validate(raw: pl.DataFrame, table: Table, parents: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Typed source columns plus `_failed_rules`, row for row with `raw`.

    `raw` holds one text column per source column and the reader's structural error. `parents` maps each
    referenced table to its current rows, for foreign keys and for normalising codes to the parent's spelling.
    """
    columns = table.source_columns
    frame = raw.lazy().select(
        ERROR,
        *[pl.col(c.name).str.strip_chars().replace("", None).alias(_text(c.name)) for c in columns],
        *[pl.col(c.name).is_null().alias(_absent(c.name)) for c in columns],
    )
    frame = frame.with_columns(_normalised(c, table, parents) for c in columns if c.normalize)
    frame = frame.with_columns(_typed(c) for c in columns)
    frame, fk_rules = _foreign_keys(frame, table, parents)
    rules = [rule for c in columns for rule in _column_rules(c)] + fk_rules
    rules += [(f"check:{check.name}", pl.sql_expr(check.sql).not_()) for check in table.checks]
    broken = [condition.fill_null(False) for _, condition in rules]
    checked = frame.with_columns((pl.any_horizontal(*broken) | pl.col(ERROR).is_not_null()).alias(BROKEN)).collect()
    # Naming the rules is costly, so it is done only for the few rows that break any, and each row's list is
    # then picked from theirs by its place among them (joining them back on a row number cost as much again).
    # A row with the wrong number of fields also has the rules its values break named; other structural errors
    # leave no values to judge.
    misshapen = pl.col(ERROR) == FIELD_COUNT
    named = (
        checked.lazy()
        .filter(BROKEN)
        .select(
            pl.when(pl.col(ERROR).is_not_null() & ~misshapen)
            .then(pl.concat_list(pl.col(ERROR)))
            .otherwise(
                pl.concat_list(pl.col(ERROR), *[pl.when(c).then(pl.lit(name)) for name, c in rules]).list.drop_nulls()
            )
            .alias(RULES)
        )
        .collect()
        .to_series()
    )
    place = pl.when(pl.col(BROKEN)).then(pl.col(BROKEN).cum_sum() - 1)
    empty = pl.lit([], pl.List(pl.String))
    typed = [pl.col(c.name).cast(c.type.polars, strict=False) for c in columns]  # wide integers back to their type
    return checked.select(*typed, pl.lit(named).gather(place).fill_null(empty))


def _text(name: str) -> str:
    return f"_text:{name}"


def _absent(name: str) -> str:
    """Whether the record has no field for the column at all (a short row), rather than an empty one."""
    return f"_absent:{name}"


def _normalised(column: Column, table: Table, parents: Mapping[str, pl.DataFrame]) -> pl.Expr:
    canonical = pl.Series(list(column.allowed or _parent_values(column.name, table, parents)), dtype=pl.String)
    keys = pl.select(canonical_key(pl.lit(canonical))).to_series()
    lookup = dict(zip(keys.to_list(), canonical.to_list()))
    text = pl.col(_text(column.name))
    return canonical_key(text).replace_strict(lookup, default=text, return_dtype=pl.String).alias(_text(column.name))


def _parent_values(name: str, table: Table, parents: Mapping[str, pl.DataFrame]) -> list[str]:
    for fk in table.foreign_keys:
        if name in fk.columns and fk.table in parents:
            parent_column = fk.to[fk.columns.index(name)]
            return parents[fk.table].get_column(parent_column).unique().sort().to_list()
    return []


def _typed(column: Column) -> pl.Expr:
    text = pl.col(_text(column.name))
    if column.type.lexical is not None:
        text = pl.when(text.str.contains(column.type.lexical)).then(text)
    parsed = column.type.parse(text)
    if column.type.polars == pl.Float64:  # "inf" and "nan" parse, but are not measurements
        parsed = pl.when(parsed.is_finite()).then(parsed)
    return parsed.alias(column.name)


def _column_rules(column: Column) -> list[tuple[str, pl.Expr]]:
    """(rule name, condition true when the row breaks it) for one column."""
    name, text, value = column.name, pl.col(_text(column.name)), pl.col(column.name)
    bounds = column.type.bounds
    malformed = text.is_not_null() & value.is_null()
    if bounds is not None:  # well-formed but too large even to parse is out of range
        malformed = text.is_not_null() & ~text.str.contains(column.type.lexical)
    rules = [(f"{name}:type", malformed)]
    if not column.nullable:
        present = ~pl.col(_absent(name)) | (pl.col(ERROR) != FIELD_COUNT).fill_null(True)
        rules.append((f"{name}:not_null", text.is_null() & present))
    if column.min is not None or column.max is not None or bounds is not None:
        low = value < column.min if column.min is not None else pl.lit(False)
        high = value > column.max if column.max is not None else pl.lit(False)
        if bounds is not None:
            low = low | (value < bounds[0]) | (text.is_not_null() & ~malformed & value.is_null())
            high = high | (value > bounds[1])
        rules.append((f"{name}:range", low | high))
    if column.max_length is not None:
        rules.append((f"{name}:length", text.str.len_chars() > column.max_length))
    if column.allowed is not None:
        rules.append((f"{name}:allowed", ~value.is_in(column.allowed)))
    if column.pattern is not None:
        rules.append((f"{name}:pattern", ~value.str.contains(column.pattern)))
    return rules


def _foreign_keys(
    frame: pl.LazyFrame, table: Table, parents: Mapping[str, pl.DataFrame]
) -> tuple[pl.LazyFrame, list[tuple[str, pl.Expr]]]:
    """A rule per foreign key: the row names a parent that does not exist (rows with a null key pass). The parent
    columns a key brings are joined for the row checks (null where the parent is missing)."""
    rules = []
    schema = frame.collect_schema()
    for number, fk in enumerate(table.foreign_keys):
        columns = list(fk.columns)
        parent = parents.get(fk.table)
        if parent is None:  # not built yet: every key is missing
            parent = pl.DataFrame(schema={c.name: c.type.polars for c in contracts.parent(table, fk).columns})
        keys = parent.select(*[pl.col(to).cast(schema[c]).alias(c) for c, to in zip(columns, fk.to)], *fk.brings)
        present = pl.all_horizontal(pl.col(c).is_not_null() for c in columns)
        if len(columns) == 1 and not fk.brings:
            rules.append((fk.rule, present & ~pl.col(columns[0]).is_in(keys.to_series().unique().implode())))
            continue
        found = f"_found_{number}"
        keys = keys.unique(columns, keep="first", maintain_order=True)  # a row matches one parent at most
        frame = frame.join(
            keys.lazy().with_columns(pl.lit(True).alias(found)), on=columns, how="left", maintain_order="left"
        )
        rules.append((fk.rule, present & pl.col(found).is_null()))
    return frame, rules
