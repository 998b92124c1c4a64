# The two commands a new user types: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
REQ_HASH := $(shell sha1sum requirements.txt | cut -c1-12)
STAMP := $(VENV)/.installed-$(REQ_HASH)

.PHONY: run test venv test-deps unit stack-install stack-up stack-down stack-status lint

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

run: venv
	PYTHONPATH=$(CURDIR) $(BIN)/python -m streamlit run app/ui/Home.py --server.port 8501 --server.headless true --browser.gatherUsageStats false

# Everything the tests need (real stack binaries, Prometheus, Chromium), then the whole suite.
test: venv test-deps
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected - failing on purpose"; exit 1; fi; \
	exit $$rc

test-deps: venv
	$(BIN)/python -m stack install

unit: venv
	$(BIN)/python -m pytest -m "not integration and not browser"

lint: venv
	$(BIN)/ruff check app detectors stack tests bench

stack-install: venv
	$(BIN)/python -m stack install

stack-up: stack-install
	$(BIN)/python -m stack up

stack-down: venv
	$(BIN)/python -m stack down

stack-status: venv
	$(BIN)/python -m stack status
