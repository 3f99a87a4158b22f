-- The source's audit table, as its PostgreSQL users query it: every row not loaded, key (file, line), with each
-- failing column and a short error for it, one error to triage by, and the row's fields as JSON. Blank lines are no
-- records: the quarantine keeps them (every bronze line is accounted for), the audit does not.
with rejected as (
    select *, list_transform(failed_rules, lambda rule: rating_rule_column(rule)) as invalid_columns
    from quarantine_ratings.customer_ratings_history
    where failed_rules <> ['row:blank']
)

select
    -- where
    q._source_file as file,
    q._source_line as line,
    f.agency_id,
    f.agency_table as table_name,
    -- what failed
    q.invalid_columns,
    list_transform(q.failed_rules, lambda rule: rating_rule_error(rule, q.duplicate_of)) as errors,
    rating_row_error(q.failed_rules, q.invalid_columns) as error,
    -- the row
    json_object(
        'customer_number', q.customer_number,
        'customer_rating', q.customer_rating,
        'customer_rating_limit', q.customer_rating_limit,
        'customer_status', q.customer_status
    ) as payload,
    q._raw_line as raw_row,
    -- flags
    q.disposition = 'invalid' and list_contains(q.invalid_columns, 'customer_number') as invalid_customer_number,
    q.disposition = 'duplicate' as duplicate,
    q._source_file in (select current_file from gold_ratings.dim_agency) as is_current
from rejected as q
join silver_ratings.agency_files as f on f.source_file = q._source_file
