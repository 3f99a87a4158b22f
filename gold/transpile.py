"""The Spark SQL text of a gold model: each model has one source, its DuckDB SQL, and Spark runs it transpiled.

Spark has no macros, so the project's own (`gold/macros/*.sql`) are expanded into the model first, on sqlglot's
syntax tree: a scalar macro's call becomes its expression with the call's arguments in place of its parameters; a
table macro's call in FROM becomes a subquery, in which `query_table(name)` becomes the table it names; macros calling
macros expand in turn. Then sqlglot writes the tree in Spark's dialect, corrected where its text would mean something
else on Spark than the model does on DuckDB (`_as_on_duckdb`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlglot
from sqlglot import exp

from core.errors import LakehouseError
from gold.models import Model, macros_sql


@dataclass(frozen=True)
class Macro:
    name: str
    parameters: tuple[str, ...]
    body: exp.Expression  # an expression, or a query for a table macro
    table: bool  # called in FROM, as a table


def spark_sql(model: Model) -> str:
    """The model's SQL with the domain's macros expanded, in Spark's dialect."""
    tree = expand(parse(model.sql), macros(model.table.domain))
    return _as_on_duckdb(tree).sql(dialect="spark", pretty=True)


def parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


@cache
def macros(domain: str) -> dict[str, Macro]:
    """The macros a model of `domain` can call (common.sql's and the domain's), by lower-case name."""
    found = {}
    for statement in sqlglot.parse(macros_sql(domain), read="duckdb"):
        if isinstance(statement, exp.Create) and statement.kind == "MACRO":
            signature = statement.this
            returns = statement.find(exp.ReturnsProperty)
            name = signature.this.name.lower()
            parameters = tuple(p.name.lower() for p in signature.expressions)
            found[name] = Macro(name, parameters, statement.expression, bool(returns and returns.args.get("is_table")))
    return found


def expand(tree: exp.Expression, macros: dict[str, Macro]) -> exp.Expression:
    """`tree` with every call of `macros` replaced by what the macro stands for."""
    taken = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous):
            name = node.this.name.lower()
            if name in macros and macros[name].table:
                query = _rename_ctes(_call(macros[name], node.this, macros), taken, name)
                return exp.Subquery(this=query, alias=node.args.get("alias") or exp.TableAlias(this=name))
            if name == "query_table":  # a macro's table parameter, now the table's name
                named = node.this.expressions[0]
                table = exp.to_table(named.name if isinstance(named, exp.Literal) else named.sql())
                return table.as_(node.alias) if node.alias else table
        if isinstance(node, exp.Anonymous) and node.name.lower() in macros:
            macro = macros[node.name.lower()]
            if not macro.table:
                return _grouped(_call(macro, node, macros), node.parent)
        return node

    return tree.transform(replace)


def _call(macro: Macro, call: exp.Anonymous, macros: dict[str, Macro]) -> exp.Expression:
    """The macro's body with the call's arguments (themselves expanded) in place of its parameters, expanded."""
    arguments = {}
    for position, argument in enumerate(call.expressions):
        if isinstance(argument, (exp.PropertyEQ, exp.Kwarg)):  # a named argument: `name := value`
            arguments[argument.this.name.lower()] = expand(argument.expression, macros)
        else:
            arguments[macro.parameters[position]] = expand(argument, macros)

    def substitute(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name.lower() in arguments:
            return _grouped(arguments[node.name.lower()].copy(), node.parent)
        return node

    return expand(macro.body.transform(substitute), macros)


def _grouped(node: exp.Expression, parent: exp.Expression | None) -> exp.Expression:
    """`node` in parentheses when it is an operation put as an operand of another (`(a + b) * 2`, not `a + b * 2`)."""
    operators = (exp.Binary, exp.Unary, exp.Between, exp.In)
    inside = isinstance(parent, operators) and not isinstance(parent, exp.Paren)
    return exp.Paren(this=node) if inside and isinstance(node, operators) else node


def _rename_ctes(query: exp.Expression, taken: set[str], prefix: str) -> exp.Expression:
    """A table macro's query with its CTEs renamed where their names are taken already (by the model's CTEs or
    another expansion's): `events` becomes `tower_runs_events`."""
    renamed = {}
    for cte in query.args["with_"].expressions if query.args.get("with_") else []:
        name = cte.alias_or_name.lower()
        if name in taken:
            renamed[name] = f"{prefix}_{name}"
        taken.add(renamed.get(name, name))
    if not renamed:
        return query
    for cte in query.find_all(exp.CTE):
        if cte.alias_or_name.lower() in renamed:
            cte.args["alias"].set("this", exp.to_identifier(renamed[cte.alias_or_name.lower()]))
    for table in query.find_all(exp.Table):
        if not table.db and table.name.lower() in renamed:
            table.set("this", exp.to_identifier(renamed[table.name.lower()]))
    for column in query.find_all(exp.Column):
        if column.table.lower() in renamed:
            column.set("table", exp.to_identifier(renamed[column.table.lower()]))
    return query


SPARK_NAMES = {"epoch_us": "unix_micros", "error": "raise_error", "list_position": "array_position"}


def _as_on_duckdb(tree: exp.Expression) -> exp.Expression:
    """`tree` corrected where sqlglot 30's Spark text would mean something else than the model means on DuckDB.
    Children first, so that a node's replacement takes its corrected children."""
    for node in reversed(list(tree.dfs())):
        spark = _correct(node)
        if spark is node:
            continue
        if node is tree:
            tree = spark
        else:
            node.replace(spark)
    return tree


def _correct(node: exp.Expression) -> exp.Expression:
    """Spark's way to say what `node` means on DuckDB, where sqlglot writes something else; else `node`."""
    if isinstance(node, exp.DayOfWeekIso):  # sqlglot writes (dayofweek(d) % 7) + 1, which makes Monday 3
        return exp.Paren(this=exp.func("weekday", node.this) + 1)
    if isinstance(node, (exp.Monthname, exp.Dayname)):  # sqlglot keeps the name: 'Jan' and 'Mon' on Spark
        return exp.func(
            "date_format", node.this, exp.Literal.string("MMMM" if isinstance(node, exp.Monthname) else "EEEE")
        )
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and _computed(node.expressions[0]):
        # sqlglot shifts only literal indexes to Spark's count from 0; element_at counts from 1, as DuckDB does
        return exp.func("try_element_at", node.this, exp.cast(node.expressions[0], "int"))
    if (
        isinstance(node, exp.Lambda)
        and isinstance(node.parent, (exp.ArrayFilter, exp.Transform))
        and len(node.expressions) == 2
    ):
        index = node.expressions[1].name  # a list lambda's index counts from 1 on DuckDB, from 0 on Spark
        node.set("this", node.this.transform(lambda n: exp.Paren(this=n.copy() + 1) if _named(n, index) else n))
    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.INTEGER_TYPES) and _hexadecimal(node.this):
        digits = node.this.expression  # DuckDB reads '0x' || digits as a hexadecimal number, Spark as no number
        return exp.cast(exp.func("conv", digits, exp.Literal.number(16), exp.Literal.number(10)), node.to)
    if isinstance(node, exp.JSONObject):  # Spark has no json_object; its to_json leaves null fields out unless told
        fields = [part for pair in node.expressions for part in (pair.this, pair.expression)]
        options = [exp.Literal.string("ignoreNullFields"), exp.Literal.string("false")]
        keep_nulls = exp.Anonymous(this="map", expressions=options)
        return exp.func("to_json", exp.func("named_struct", *fields), keep_nulls)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "getvariable":  # a session variable on Spark
        return exp.column(node.expressions[0].name, table="session", db="system")
    if isinstance(node, exp.Anonymous) and node.name.lower() in SPARK_NAMES:  # functions sqlglot does not rename
        return exp.func(SPARK_NAMES[node.name.lower()], *node.expressions)
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:  # a hint Spark does not take
        node.set("materialized", None)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):  # collect_list keeps no order
        raise LakehouseError(f"an ordered list aggregate does not run on Spark: {node.sql('duckdb')}")
    return node


def _computed(index: exp.Expression) -> bool:
    return not isinstance(index, (exp.Literal, exp.Slice))


def _hexadecimal(node: exp.Expression) -> bool:
    return isinstance(node, exp.DPipe) and isinstance(node.this, exp.Literal) and node.this.name.lower() == "0x"


def _named(node: exp.Expression, name: str) -> bool:
    """A reference to `name` (a lambda's parameter), not a qualified column's part."""
    return (
        isinstance(node, (exp.Identifier, exp.Column)) and not isinstance(node.parent, exp.Column) and node.name == name
    )
