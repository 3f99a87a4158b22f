"""The calendar dimension every star schema shares: one row per day, keyed yyyymmdd."""

from contracts.schema import DATE, INT, Column

DATE_DIMENSION = (
    Column("date_key", INT, "yyyymmdd."),
    Column("full_date", DATE, "The day."),
    Column("day", INT, "Day of month.", min=1, max=31),
    Column("month", INT, "Month.", min=1, max=12),
    Column("quarter", INT, "Quarter.", min=1, max=4),
    Column("year", INT, "Year."),
    Column("weekday_flag", INT, "1 Monday to Friday, 0 at the weekend.", min=0, max=1),
)
