-- A full load replaces its agency's rows: the valid rows of each agency's current file.
select
    h.agency_id,
    h.customer_number,
    h.customer_rating,
    h.customer_rating_limit,
    h.customer_status,
    h._source_file as source_file,
    h._source_line as source_line
from silver_ratings.customer_ratings_history as h
join gold_ratings.dim_agency as a on h._source_file = a.current_file
