"""Look up one client's transactions in gold_trades: the `lakehouse trades` command and the HTTP API."""
