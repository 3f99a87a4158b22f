"""Ratings gold: every agency's current full load, the source's audit of invalid rows, and its aggregate report.

Columns that mean the same as in silver are silver's own Column objects (renamed where the source's users name
them otherwise), so they are described once.
"""

from dataclasses import replace

from contracts.ratings import silver
from contracts.schema import (
    BOOL,
    INT,
    JSON,
    STRING,
    TEXT_LIST,
    Column,
    ForeignKey,
    Partition,
    SplitViews,
    Table,
    decimal,
)

RATING_COLUMNS = ("customer_number", "customer_rating", "customer_rating_limit", "customer_status")


def _gold(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("gold", "ratings", name, description, tuple(columns), key, **kw)


def _of(table: Table, *names: str) -> list[Column]:
    return [table.column(name) for name in names]


dim_agency = _gold(
    "dim_agency",
    "One agency with its current file: the newest by the date in its name, else by arrival (an undated file "
    "counts as of the day it arrived; ties go to the later arrival, then the later name).",
    [
        *_of(silver.agency_files, "agency_id", "agency_table"),
        Column("current_file", STRING, "The file whose rows are the agency's ratings now."),
        *_of(silver.agency_files, "file_date", "arrived_at"),
        Column("files", INT, "Files the agency has dropped, current and replaced.", min=1),
    ],
    key=("agency_id",),
    split_views=SplitViews("agency_table", "customer_ratings", "agency_id", RATING_COLUMNS),
)

customer_ratings = _gold(
    "customer_ratings",
    "One customer of one agency as the agency's current file rates it (the source's customer_rating_<agency> "
    "tables, one view each), partitioned by agency.",
    [
        *_of(silver.customer_ratings_history, "agency_id", *RATING_COLUMNS),
        Column("source_file", STRING, "The agency's current file."),
        Column("source_line", INT, "The row's line in it.", min=2),
    ],
    key=("agency_id", "customer_number"),
    foreign_keys=(ForeignKey(("agency_id",), "dim_agency", ("agency_id",)),),
    partition=Partition("agency_id", "agency_id"),
)

file_invalid_rows = _gold(
    "file_invalid_rows",
    "One row of an agency file that was not loaded (the source's audit table, in the shape its PostgreSQL users "
    "query): every failing column with a short error each, one error to triage by, and the row's fields, for every "
    "file, current or replaced. Blank lines are no records and are not listed.",
    [
        Column("file", STRING, "The file."),
        Column("line", INT, "The row's line in it (the header is line 1; a file refused whole: 1).", min=1),
        *_of(silver.agency_files, "agency_id"),
        replace(silver.agency_files.column("agency_table"), name="table_name"),
        Column("invalid_columns", TEXT_LIST, "Every failing column; 'row' when the row itself is malformed."),
        Column("errors", TEXT_LIST, "A short error for each failing column, in the same order."),
        Column(
            "error",
            STRING,
            "The row's error, to triage by: a malformed row's own (e.g. 'wrong number of fields'), 'duplicate "
            "customer_number', else 'invalid ' and the failing columns (e.g. 'invalid customer_number, "
            "customer_rating').",
        ),
        Column(
            "payload",
            JSON,
            "The row's fields by column name, as text (null: missing, empty or unreadable), e.g. "
            '{"customer_number": "12a", "customer_rating": "5", ...}; a duplicate\'s as loaded.',
        ),
        Column("raw_row", STRING, "The row as written."),
        Column("invalid_customer_number", BOOL, "The row's customer_number is itself not a valid integer."),
        Column("duplicate", BOOL, "Valid, but its customer appears earlier in the same file."),
        Column("is_current", BOOL, "The file is its agency's current file."),
    ],
    key=("file", "line"),
    foreign_keys=(ForeignKey(("agency_id",), "dim_agency", ("agency_id",)),),
)

agg_customer_rating_report = _gold(
    "agg_customer_rating_report",
    "One agency with a current file: the source's Customer_Rating_Aggregate_Report, over the current files.",
    [
        Column("customer", STRING, "The agency id.", pattern=silver.AGENCY_ID),
        Column("count_customer_number", INT, "Valid rows.", min=0),
        Column("sum_customer_rating", INT, "Sum of the valid rows' ratings."),
        Column("high_value_count", INT, f"Valid rows whose status is exactly {silver.HIGH_VALUE}.", min=0),
        Column(
            "invalid_customer_number_count", INT, "Invalid rows whose customer_number is not a valid integer.", min=0
        ),
        Column(
            "invalid_customer_number_percent",
            decimal(5, 2),
            "invalid_customer_number_count / (valid rows + it) x 100, rounded half up; 0.00 when both are 0.",
            min=0,
            max=100,
        ),
    ],
    key=("customer",),
    foreign_keys=(ForeignKey(("customer",), "dim_agency", ("agency_id",)),),
)

TABLES = (dim_agency, customer_ratings, file_invalid_rows, agg_customer_rating_report)
