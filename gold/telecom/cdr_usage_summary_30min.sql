-- depends_on: silver_telecom.cdr_data_usage silver_telecom.cdr_voice_calls silver_telecom.tariffs
-- depends_on: quarantine_telecom.tariffs
select * from usage_summary(30, 'silver_telecom.tariffs', 'quarantine_telecom.tariffs')
