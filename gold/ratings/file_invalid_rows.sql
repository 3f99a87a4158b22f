-- The source's audit table: every row not loaded, with each failing column and a short error for it. Blank lines
-- are no records: the quarantine keeps them (every bronze line is accounted for), the audit does not.
select
    q._source_file as source_file,
    q._source_line as source_line,
    f.agency_id,
    f.agency_table,
    q._raw_line as raw_row,
    list_transform(q.failed_rules, lambda rule: rating_rule_column(rule)) as failed_columns,
    list_transform(q.failed_rules, lambda rule: rating_rule_error(rule, q.duplicate_of)) as errors,
    q.disposition = 'invalid'
        and list_contains(list_transform(q.failed_rules, lambda rule: rating_rule_column(rule)), 'customer_number')
        as invalid_customer_number,
    q.disposition = 'duplicate' as duplicate,
    q._source_file in (select current_file from gold_ratings.dim_agency) as is_current
from quarantine_ratings.customer_ratings_history as q
join silver_ratings.agency_files as f on f.source_file = q._source_file
where q.failed_rules <> ['row:blank']
