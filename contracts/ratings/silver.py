"""Ratings: each agency's daily file of customer ratings, a full load, and the files themselves.

The source kept a PostgreSQL table per agency with integer columns and a varchar(25) status; its types are the
rules here. Agencies drop files under any name into `bronze/ratings/agency_files/`; the agency and the file's date
come from the name (see silver.ratings).
"""

from contracts.schema import (
    BOOL,
    DATE,
    INT,
    INTEGER,
    SOURCE_FILE,
    STRING,
    TIMESTAMP,
    Column,
    Partition,
    Table,
)

STATUS_LENGTH = 25  # the source's varchar(25)
HIGH_VALUE = "high-value"
AGENCY_ID = r"^[a-z0-9_]+$"  # safe in any identifier, path or SQL literal
UNDATED = "undated"  # the load_date of files without a date in their name


def _silver(name: str, description: str, columns: list[Column], key: tuple[str, ...], **kw) -> Table:
    return Table("silver", "ratings", name, description, tuple(columns), key, **kw)


customer_ratings_history = _silver(
    "customer_ratings_history",
    "One customer's rating as one agency file gave it: every valid row of every file, current or replaced, with "
    "the file it came from (_source_file).",
    [
        Column("customer_number", INTEGER, "The agency's customer number."),
        Column("customer_rating", INTEGER, "The rating."),
        Column("customer_rating_limit", INTEGER, "The rating limit."),
        Column(
            "customer_status",
            STRING,
            f"Status, e.g. {HIGH_VALUE} (stripped; at most {STATUS_LENGTH} characters).",
            nullable=True,
            max_length=STATUS_LENGTH,
        ),
        Column("agency_id", STRING, "The agency, from the file's name (agency_a).", pattern=AGENCY_ID, source=False),
        Column("file_date", DATE, "The date in the file's name or folder, if any.", nullable=True, source=False),
        Column(
            "load_date",
            STRING,
            f"file_date as YYYY-MM-DD, or '{UNDATED}': the partition.",
            source=False,
        ),
    ],
    key=(SOURCE_FILE, "customer_number"),  # a file is a full load: a customer once per file
    partition=Partition("load_date", "file_date", "%Y-%m-%d", missing=UNDATED),
    bronze_folder="agency_files",
    quarantine_group=r".*(?=/)",  # a day's files, a folder a day: one quarantine file a day
)

agency_files = _silver(
    "agency_files",
    "One file an agency dropped, whatever it held (even no valid row): which agency it loads, its date and when "
    "it arrived, to tell each agency's current file.",
    [
        Column("source_file", STRING, "The bronze file, as _source_file names it."),
        Column("agency_id", STRING, "The agency, from the file's name.", pattern=AGENCY_ID),
        Column(
            "agency_table", STRING, "The source's table of the agency: customer_rating_<agency_id>.", pattern=AGENCY_ID
        ),
        Column("file_date", DATE, "The date in the file's name or folder, if any.", nullable=True),
        Column("arrived_at", TIMESTAMP, "When the file landed in bronze (its modification time, UTC)."),
        Column("lines", INT, "Lines after the header.", min=0),
        Column("bytes", INT, "Size.", min=0),
        Column(
            "sha256",
            STRING,
            "Content hash (null for a file the lake may not read).",
            nullable=True,
            pattern=r"^[0-9a-f]{64}$",
        ),
        Column("header_ok", BOOL, "The header names the four columns."),
    ],
    key=("source_file",),
    computed=True,
)

TABLES = (customer_ratings_history, agency_files)
