select city_id as city_key, city as city_name, state, region from silver_payments.cities
