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

# Queries are encoded with ONNX Runtime (fp32: the same vectors as PyTorch, about 4x less CPU a query);
# the export is written once into the data directory. KB_EMBEDDING__QUERY_BACKEND=torch turns it off.
run: setup
	KB_EMBEDDING__QUERY_BACKEND=$${KB_EMBEDDING__QUERY_BACKEND:-onnx} $(VENV)/bin/kb serve

test: setup
	$(VENV)/bin/python -m pytest -q

test-fast:
	$(VENV)/bin/python -m pytest -q -m "not slow and not browser"

eval:
	$(VENV)/bin/kb eval ../shared/eval/dev_questions.jsonl
