"""The payments dashboard: `data.py` answers its questions from the gold tables with DuckDB (and is tested
without a browser); `app.py` is the Streamlit page (the optional `dashboard` extra)."""
