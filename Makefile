# Two commands on a fresh machine: `make pipeline` and `make test`. The first use creates .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS_STAMP := $(VENV)/.installed-extras
# The project's own modules, compiled once and whenever one changes: an editable install compiles none, and where
# PYTHONDONTWRITEBYTECODE is set nothing ever writes them, so each command compiled its modules again (about 0.2 s
# of `make pipeline`'s start-ups)
PACKAGES := bronze contracts core engines generators gold pipelines silver
COMPILED := $(VENV)/.compiled
PORT ?= 8501
SCALE ?= 1
ENGINE ?= duckdb
DATA ?= data

.PHONY: pipeline test bench docs dashboard serve clean distclean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(EXTRAS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dashboard,api,postgres,spark]'
	touch $(EXTRAS_STAMP)

$(COMPILED): $(STAMP) $(shell find $(PACKAGES) -name '*.py')
	$(BIN)/python -m compileall -q $(PACKAGES) >/dev/null
	touch $(COMPILED)

pipeline: $(COMPILED)  ## generate every domain (if absent) and run the whole lake
	$(BIN)/lakehouse --data-dir $(DATA) generate all
	$(BIN)/lakehouse --data-dir $(DATA) run
	$(BIN)/lakehouse --data-dir $(DATA) report ratings

test: $(EXTRAS_STAMP) $(COMPILED)  ## the test suite (with the dashboard's, the API's, the PostgreSQL export's and the Spark engine's optional dependencies)
	$(BIN)/python -m pytest -q

bench: $(EXTRAS_STAMP) $(COMPILED)  ## time every domain at SCALE (1 = 100 meters for a year, 100,000 trades, ...), and the export against psql \copy; ENGINE=spark: gold on DuckDB and Spark side by side at scale 1 and 10
	$(BIN)/lakehouse --data-dir $(DATA) bench --scale $(SCALE) --engine $(ENGINE)

dashboard: $(EXTRAS_STAMP)  ## serve the payments dashboard on 127.0.0.1:$(PORT) (after `make pipeline`)
	$(BIN)/lakehouse --data-dir $(DATA) dashboard --port $(PORT)

serve: $(EXTRAS_STAMP)  ## serve the trades API on 127.0.0.1:8000 (set LAKEHOUSE_API_TOKEN; after `make pipeline`)
	$(BIN)/lakehouse --data-dir $(DATA) serve

docs: $(STAMP)  ## write the data dictionary to data/docs/data-dictionary.md
	$(BIN)/lakehouse --data-dir $(DATA) docs

clean:  ## delete the lake (everything in data/ but its README) and caches
	find $(DATA) -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .pytest_cache .hypothesis

distclean: clean  ## also delete the virtualenv
	rm -rf $(VENV) *.egg-info
