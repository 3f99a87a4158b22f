"""Bronze: immutable CSV files as producers wrote them, read line by line without losing any."""
