select channel_id as channel_key, channel_name, fee_percent from silver_payments.channels
