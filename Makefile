# Quick start: `make demo` runs the main job on the embedded default; `make test` runs the tests.
# Both install into .venv/ on first use (scripts/install_venv.sh is a no-op once installed).
PY := .venv/bin/python

.PHONY: venv demo test lint test-slow clean
venv:
	@bash scripts/install_venv.sh

demo: venv
	$(PY) scripts/demo.py

test: venv lint
	$(PY) -m pytest -q -p no:cacheprovider tests

lint: venv
	.venv/bin/ruff check .

test-slow: venv
	$(PY) -m pytest -q --runslow tests

clean:
	rm -rf .venv build *.egg-info demo_out
