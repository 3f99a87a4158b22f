-- A client's BI key: its 8 hex characters read as a number.
create or replace macro client_key(client_id) as cast('0x' || client_id as bigint);
