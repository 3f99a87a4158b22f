select cast(substr(customer_id, 2) as bigint) as customer_key, customer_id, customer_name, segment
from silver_payments.customers
