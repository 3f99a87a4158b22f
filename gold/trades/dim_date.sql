-- Every day from the first to the last transaction (key date_key).
select * from date_dimension(
    (select min(transaction_date) from silver_trades.transactions),
    (select max(transaction_date) from silver_trades.transactions)
)
