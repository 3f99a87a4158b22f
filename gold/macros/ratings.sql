-- The column a silver rule names ('customer_number:type' -> customer_number); 'row' for a malformed row, and the
-- customer number for a duplicate.
create or replace macro rating_rule_column(rule) as
    case
        when rule = 'key:duplicate' then 'customer_number'
        when rule like 'row:%' or rule like 'file:%' then 'row'
        else split_part(rule, ':', 1)
    end;
-- A short error for a failed rule of its kind ('customer_number:type' -> not an integer).
create or replace macro rating_rule_kind_error(rule, duplicate_of) as
    case split_part(rule, ':', 2)
        when 'type' then 'not an integer'
        when 'range' then 'out of the integer range'
        when 'not_null' then 'missing'
        when 'length' then 'too long'
        when 'field_count' then 'wrong number of fields'
        when 'quoting' then 'unbalanced quotes'
        when 'encoding' then 'not valid UTF-8'
        when 'header' then 'the file''s header is not the four columns'
        when 'duplicate' then 'customer already on line ' || split_part(duplicate_of, ':', -1)
        else rule
    end;
-- A short error for a failed rule, as the audit table shows it.
create or replace macro rating_rule_error(rule, duplicate_of) as
    case rule
        when 'file:encoding' then 'UTF-16 or UTF-32 text: save it as CSV UTF-8'
        when 'file:name' then 'the file name is not UTF-8: rename it'
        else rating_rule_kind_error(rule, duplicate_of)
    end;
-- The one error to triage an audited row by, from its failed rules and their columns: a malformed row's own fault
-- (the wrong number of fields, whatever its values), a duplicate, else the columns that failed, each named once.
create or replace macro rating_row_error(rules, columns) as
    case
        when list_contains(rules, 'key:duplicate') then 'duplicate customer_number'
        when list_contains(columns, 'row') then rating_rule_error(rules[list_position(columns, 'row')], null)
        else 'invalid ' || array_to_string(list_filter(columns, lambda c, i: list_position(columns, c) = i), ', ')
    end;
-- part / whole x 100, rounded half up to 2 places in exact integer arithmetic; 0.00 when whole is 0.
create or replace macro half_up_percent(part, whole) as
    cast(
        case when whole = 0 then 0 else (part * 20000 + whole) // (2 * whole) end as decimal(18, 0)
    ) * 0.01;
