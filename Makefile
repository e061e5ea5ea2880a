# Every target creates what it needs: a clean clone plus `make report` or
# `make test` is enough on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test test-fast bench bench-quick lint clean

$(STAMP): requirements.lock pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/welfare-report --history history verify
	$(BIN)/welfare-report --history history render --out build

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Everything but the tests marked slow (over 10 s each), for the edit loop, on every core.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -n auto

# Apache Otava pins older numpy and scipy: it gets its own environment and
# runs as a subprocess of the detection benchmark.
OTAVA := benchmarks/.work/otava
$(OTAVA)/.installed:
	$(PYTHON) -m venv $(OTAVA)
	$(OTAVA)/bin/pip install --quiet --disable-pip-version-check apache-otava==0.8.0
	touch $@

# The README's Spark SQL recipe runs in its own environment too (pyspark needs Java 17 or later).
SPARK := benchmarks/.work/spark
$(SPARK)/.installed:
	$(PYTHON) -m venv $(SPARK)
	$(SPARK)/bin/pip install --quiet --disable-pip-version-check pyspark==4.3.0
	touch $@

bench: $(STAMP) $(OTAVA)/.installed $(SPARK)/.installed
	$(BIN)/python benchmarks/budget.py
	$(BIN)/python benchmarks/detection.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/inspect_log.py
	$(BIN)/python benchmarks/hostile.py
	$(BIN)/python benchmarks/counts.py --spark $(SPARK)/bin/python

# The error budget's tables at fewer repetitions, in a few minutes.
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/budget.py --quick

lint: $(STAMP)
	$(BIN)/ruff check reporter tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
