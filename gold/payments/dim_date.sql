-- Every day from the first to the last transaction, so trends show days without transactions too.
select * from date_dimension(
    (select min(transaction_date) from silver_payments.transactions),
    (select max(transaction_date) from silver_payments.transactions)
)
