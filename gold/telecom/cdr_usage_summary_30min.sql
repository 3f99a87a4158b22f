-- depends_on: prepared_layers.cdr_usage_summary_15min silver_telecom.tariffs
-- depends_on: quarantine_telecom.tariffs
select * from usage_summary(30, 'silver_telecom.tariffs', 'quarantine_telecom.tariffs')
