# Two commands for a fresh machine:
#   make run    set up, index the starter corpus into the embedded store, serve http://127.0.0.1:8000/
#   make test   set up and run the tests
VENV ?= .venv
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HAYSTACK_TELEMETRY_ENABLED := False

.PHONY: setup run test test-fast bench eval

setup:
	./scripts/setup.sh

run: setup
	$(VENV)/bin/kb serve

test: setup
	$(VENV)/bin/python -m pytest -q

test-fast:
	$(VENV)/bin/python -m pytest -q -m "not slow and not browser"

eval:
	$(VENV)/bin/kb eval ../shared/eval/dev_questions.jsonl
