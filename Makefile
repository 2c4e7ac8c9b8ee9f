# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
R4_EXAMPLES := var/packages/hl7.fhir.r4.examples/package/package.json

.PHONY: run test install packages serve clean bench

$(BIN)/mederi: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/mederi

# The official R4 examples (npm hl7.fhir.r4.examples@4.0.1) for the conformance tests.
# Without npm the tests that need them skip.
$(R4_EXAMPLES):
	@mkdir -p var/packages/download
	@if command -v npm >/dev/null; then \
	  (cd var/packages/download && npm pack --silent hl7.fhir.r4.examples@4.0.1 >/dev/null) && \
	  mkdir -p var/packages/hl7.fhir.r4.examples && \
	  tar xzf var/packages/download/hl7.fhir.r4.examples-4.0.1.tgz -C var/packages/hl7.fhir.r4.examples ; \
	else echo "npm not found: tests that need the official R4 examples will skip"; fi

packages: $(R4_EXAMPLES)

run: install
	$(BIN)/mederi migrate
	$(BIN)/mederi demo
	$(BIN)/mederi serve

test: install packages
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var
