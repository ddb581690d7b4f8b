# Two commands do all the set-up on a fresh machine:
#   make synth   install what is missing, then synthesize every stack into cdktf.out/
#   make test    install what is missing, then run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := synth

PIPENV_VERSION := 2026.10.3
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
# Each virtualenv is the one beside its Pipfile, never an activated one: a `pipenv sync` run from
# inside the cdktn environment would otherwise install cdktf there and switch engines silently.
export PIPENV_IGNORE_VIRTUALENVS := 1

PYTHON := .venv/bin/python
INSTALLED := .venv/.installed
CHECKOV_INSTALLED := tools/checkov/.venv/.installed
NODE_TOOLS := node_modules/.package-lock.json
SFN_ENGINE_INSTALLED := tools/sfn-engine/.venv/.installed
CDKTN_INSTALLED := tools/cdktn/.venv/.installed

# The CDK engine (imports/engine.py): ENGINE=cdktf (default: the project is defined on it) or
# ENGINE=cdktn (CDK Terrain, in its own virtualenv tools/cdktn/.venv). make synth, check,
# test-quick and plan run on it; every Python command is told which (CDK_ENGINE), so
# none guesses from what is installed.
ENGINE ?= $(or $(CDK_ENGINE),cdktf)
ifeq ($(ENGINE),cdktf)
CDK_PYTHON := $(PYTHON)
CDK_INSTALLED := $(INSTALLED)
else ifeq ($(ENGINE),cdktn)
CDK_PYTHON := tools/cdktn/.venv/bin/python
CDK_INSTALLED := $(CDKTN_INSTALLED) $(INSTALLED)
else
$(error ENGINE=$(ENGINE): no such engine (cdktf, cdktn))
endif
export CDK_ENGINE := $(ENGINE)
# The Step Functions engine needs Python 3.12+ and a JDK (JSONata runs on the JVM).
# (A pyenv shim may exist and still refuse to run: take the first interpreter that runs.)
PYTHON313 ?= $(shell for p in $$(ls -d $(HOME)/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null) \
	$$(command -v python3.13 2>/dev/null); do "$$p" -c pass 2>/dev/null && echo "$$p" && break; done)
# The JDK: the first of these whose java is 17 or newer: $JAVA_HOME; GitHub runners' Temurin
# ($JAVA_HOME_17_X64 and the like); /usr/lib/jvm/*17*, *21* (any architecture); `java` on PATH.
# Else Debian's OpenJDK 17 path for this architecture, which the install step below fills.
JDK_CANDIDATES := "$$JAVA_HOME" "$$JAVA_HOME_17_X64" "$$JAVA_HOME_17_ARM64" "$$JAVA_HOME_21_X64" \
	"$$JAVA_HOME_21_ARM64" /usr/lib/jvm/*17* /usr/lib/jvm/*21* \
	"$$(j=$$(command -v java) && dirname "$$(dirname "$$(readlink -f "$$j")")")"
ifeq ($(origin SFN_ENGINE_JAVA_HOME),undefined)
SFN_ENGINE_JAVA_HOME := $(shell for h in $(JDK_CANDIDATES); do \
	v=$$("$$h/bin/java" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -1); \
	[ -n "$$v" ] && [ "$$v" -ge 17 ] && echo "$$h" && break; done)
ifeq ($(SFN_ENGINE_JAVA_HOME),)
SFN_ENGINE_JAVA_HOME := /usr/lib/jvm/java-17-openjdk-$(shell dpkg --print-architecture 2>/dev/null || echo amd64)
endif
endif
export SFN_ENGINE_JAVA_HOME
# apt-get needs root: through sudo where we are not root (a CI runner's user).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PIPENV := python3 -m pipenv

.PHONY: install synth test test-quick test-cdktn test-deep check review lint format bench docs diagram outputs hcl clean plan plan-review cdktn-lock \
	state-move state-self-host state-recover

# actionlint (GitHub Actions workflow linter), built with the machine's Go from the Go module proxy
# into .tools/ (git-ignored); a new version gets a new folder.
ACTIONLINT_VERSION := 1.7.12
ACTIONLINT := .tools/actionlint-$(ACTIONLINT_VERSION)/actionlint

# Each environment is rebuilt whenever its lock file changes.
$(INSTALLED): Pipfile.lock
	@$(PIPENV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "pipenv==$(PIPENV_VERSION)" \
		|| python3 -m pip install --quiet --user "pipenv==$(PIPENV_VERSION)"
	$(PIPENV) sync --dev
	@touch $@

# checkov pins its own dependencies: it gets a virtualenv of its own (tools/checkov/Pipfile.lock).
$(CHECKOV_INSTALLED): tools/checkov/Pipfile.lock $(INSTALLED)
	cd tools/checkov && $(PIPENV) sync
	@touch $@

# CDK Terrain (ENGINE=cdktn) in a virtualenv of its own (tools/cdktn/Pipfile.lock): the root
# lock's packages with cdktn in place of cdktf. Two environments, not one lock with both engines:
# see docs/development.md ("Why the engine seam").
$(CDKTN_INSTALLED): tools/cdktn/Pipfile.lock $(INSTALLED)
	cd tools/cdktn && $(PIPENV) sync --dev
	@touch $@

# After a change to the root Pipfile or Pipfile.lock (tests/test_engine_setup.py says when): the
# cdktn Pipfile written again from them, and locked.
cdktn-lock: $(INSTALLED)
	$(PYTHON) -m tools.cdktn.pipfile
	cd tools/cdktn && $(PIPENV) lock

# LocalStack's Step Functions engine for tests/test_executions*.py, in a Python 3.13 virtualenv of
# its own (tools/sfn-engine/Pipfile.lock), on the machine's JDK (17 or newer).
$(SFN_ENGINE_INSTALLED): tools/sfn-engine/Pipfile.lock $(INSTALLED)
	@test -n "$(PYTHON313)" || (echo "the Step Functions engine needs python3.13 (set PYTHON313=...)" && exit 1)
	@test -x "$(SFN_ENGINE_JAVA_HOME)/bin/java" || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq openjdk-17-jdk-headless)
	cd tools/sfn-engine && $(PIPENV) sync --python "$(PYTHON313)"
	@touch $@

# asl-validator (tests) and the cdktf CLI (make hcl, make bench), from package-lock.json, on the
# machine's npm.
$(NODE_TOOLS): package-lock.json
	npm ci --no-audit --no-fund

$(ACTIONLINT):
	GOBIN=$(CURDIR)/$(dir $@) GOMODCACHE=$(CURDIR)/.tools/go/mod GOCACHE=$(CURDIR)/.tools/go/cache \
		GOFLAGS=-modcacherw GOTOOLCHAIN=local \
		go install github.com/rhysd/actionlint/cmd/actionlint@v$(ACTIONLINT_VERSION)

install: $(INSTALLED)

# Synthesized into $(OUT).next first, then swapped in: a config error (or any failed synth) keeps
# the last good $(OUT) as it was.
OUT ?= cdktf.out
synth: $(CDK_INSTALLED)
	@rm -rf "$(OUT).next"
	@CDKTF_OUTDIR="$(OUT).next" $(CDK_PYTHON) -O main.py || { rm -rf "$(OUT).next"; \
		echo "make synth: nothing written; $(OUT)/ is as it was" >&2; exit 1; }
	@rm -rf "$(OUT)" && mv "$(OUT).next" "$(OUT)"
	@echo "Synthesized into $(OUT)/: $$(ls "$(OUT)/stacks" | tr '\n' ' ')"

# The product's own suite (on its fixtures, tests/fixtures/), then your config held to the same gates.
# The suite runs on cdktf (with tests/test_engine_parity.py comparing every fixture's JSON with
# CDK Terrain's), then its engine-facing part on CDK Terrain (make test-cdktn).
test: $(INSTALLED) $(CHECKOV_INSTALLED) $(NODE_TOOLS) $(SFN_ENGINE_INSTALLED) $(CDKTN_INSTALLED) lint
	CDK_ENGINE=cdktf $(PYTHON) -m pytest -n 2 --dist loadfile
	@$(MAKE) --no-print-directory test-cdktn
	@$(MAKE) --no-print-directory check ENGINE=cdktf

# Your config (config/pipelines.yaml, or PIPELINE_CONFIG) through every gate the product's fixtures
# pass: validate, synth, checkov, ASL, parliament, IAM invariants, every run path executed, and
# your own checks in checks/ (CHECKS=<dir> for another folder). Prints one row per environment x
# pipeline; exit 2 on a config error, 1 when another gate fails (named on the last line).
# GATES=checks (or security, executions; comma-separated) runs only those after validate and synth.
CHECKS ?= checks
# ENGINE=cdktn: the same gates with the stacks synthesized and checked on CDK Terrain.
check: $(CDK_INSTALLED) $(CHECKOV_INSTALLED) $(NODE_TOOLS) $(SFN_ENGINE_INSTALLED)
	@$(CDK_PYTHON) -O -m tools.check --checks "$(CHECKS)" $(if $(PIPELINE_CONFIG),--config "$(PIPELINE_CONFIG)") \
		$(if $(GATES),--gates "$(GATES)")

# Everything that needs none of the JDK (the Step Functions engine), npm or Go: the markers of
# tests/support/markers.py. `make test` stays the full gate.
# The generated configs run 20 at a time there (100 in make test).
test-quick: $(CDK_INSTALLED) $(CHECKOV_INSTALLED)
	GENERATED_EXAMPLES=$${GENERATED_EXAMPLES:-20} $(CDK_PYTHON) -m pytest -n 2 --dist loadfile --quick

# The tests that exercise the engine itself, on CDK Terrain: every layer and stack built and
# matched with its Testing, the fast provider path and its preload, the engine seam. The rest of
# the suite tests the product's own Python (config, workflow data, tools) or the run paths on the
# Step Functions engine, which read the same JSON on both engines (tests/test_engine_parity.py).
CDKTN_TESTS := tests/test_storage.py tests/test_sagemaker.py tests/test_sfn.py \
	tests/test_scheduler.py tests/test_alerting.py tests/test_alert_routing.py tests/test_stacks.py \
	tests/test_state_bootstrap.py tests/test_fast_imports.py tests/test_preload.py \
	tests/test_engine_setup.py
test-cdktn: $(CDKTN_INSTALLED)
	CDK_ENGINE=cdktn tools/cdktn/.venv/bin/python -m pytest -n 2 --dist loadfile --quick \
		-p no:cacheprovider $(CDKTN_TESTS)

# The generated-config tests (tests/test_generated_*.py, tests/test_executions_generated*.py) on
# many more configs than make test draws: EXAMPLES through synth and the invariants (twice as
# many through validation alone, as many mutated), ENGINE_EXAMPLES through every run path on the
# Step Functions engine.
EXAMPLES ?= 1000
ENGINE_EXAMPLES ?= 60
GENERATED_TESTS := tests/test_generated_configs.py tests/test_generated_synth.py tests/test_generated_synth_more.py \
	tests/test_executions_generated.py tests/test_executions_generated_more.py
test-deep: $(INSTALLED) $(SFN_ENGINE_INSTALLED)
	GENERATED_EXAMPLES=$(EXAMPLES) GENERATED_ENGINE_EXAMPLES=$(ENGINE_EXAMPLES) \
		$(PYTHON) -m pytest -n 2 --dist loadfile -p no:cacheprovider $(GENERATED_TESTS)

lint: $(INSTALLED) $(ACTIONLINT)
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(ACTIONLINT) -no-color

format: $(INSTALLED)
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

# The pinned cdktf CLI (package.json), for `make bench` and `make hcl`.
CDKTF_CLI := node_modules/cdktf-cli/bundle/bin/cdktf

# Synth time and memory against the floor (an empty cdktf app), fast path vs eager import, scaling
# with pipelines, app vs `cdktf synth`. BASELINE=<another checkout> measures it side by side.
bench: $(INSTALLED) $(CDKTN_INSTALLED) $(NODE_TOOLS)
	$(PYTHON) -m bench.run $(if $(BASELINE),--baseline $(BASELINE))

# HCL of every stack, for reading in review (hcl.out/stacks/<stack>/cdk.tf).
hcl: $(INSTALLED) $(NODE_TOOLS)
	rm -rf hcl.out
	CHECKPOINT_DISABLE=1 CI=true node $(CDKTF_CLI) synth --hcl --output hcl.out
	@ls hcl.out/stacks/*/cdk.tf

# Regenerate the product's documents that tests/test_docs.py and tests/test_diagram.py keep honest
# (docs/ is built from the example config tests/fixtures/example.yaml, never from yours), and the
# botocore facts the config reads (modules/config/aws_facts.json, tests/test_aws_facts_cache.py).
docs: $(INSTALLED)
	$(PYTHON) -m tools.aws_facts_cache
	@$(GRAPHVIZ_NOTE)
	$(PYTHON) -m tools.diagram
	$(PYTHON) -m tools.config_reference
	$(PYTHON) -m tools.outputs_reference
	$(PYTHON) -m tools.run_states
	$(PYTHON) -m tools.event_schema

# Your config's own picture and outputs (config/pipelines.yaml, or PIPELINE_CONFIG), into docs.out/
# (git-ignored): these commands rewrite them. The picture is of one environment (ENV, default dev).
# Rendering the SVG/PNG needs Graphviz's `dot`, which is not installed here: the DOT source is
# written without it.
USER_CONFIG := $(or $(PIPELINE_CONFIG),config/pipelines.yaml)
GRAPHVIZ_NOTE := command -v dot >/dev/null || echo "Graphviz 'dot' is not installed: writing the DOT source only." \
	"To render SVG and PNG, install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz;" \
	"macOS: brew install graphviz; other systems: https://graphviz.org/download/) and run it again."
diagram: $(INSTALLED)
	@$(GRAPHVIZ_NOTE)
	$(PYTHON) -m tools.diagram --config "$(USER_CONFIG)" --environment "$(or $(ENV),dev)" --outdir docs.out

outputs: $(INSTALLED)
	$(PYTHON) -m tools.outputs_reference --config "$(USER_CONFIG)" --output docs.out/outputs.md

# Plan every stack of one environment in deploy order into plans/<stack>.json (needs AWS
# credentials and the hashicorp/aws provider; says in one line which is missing).
plan: $(CDK_INSTALLED)
	@test -n "$(ENV)" || { echo "usage: make plan ENV=<environment>" >&2; exit 2; }
	@$(CDK_PYTHON) -m tools.plan_review.plan --env "$(ENV)"

# Review plan JSON as Markdown: make plan-review PLAN="plans/mlbatch-prod.json plans/mlbatch-prod-*.json".
# The reviewer exits 3 on data at risk, 1 on unreadable input, 2 on a config error; make cannot pass
# that on (any failed recipe makes it exit 2), so the status is named on stderr. Scripts that need
# it call the reviewer itself: .venv/bin/python -m tools.plan_review PLAN...
plan-review: $(INSTALLED)
	@test -n "$(PLAN)" || { echo "usage: make plan-review PLAN=\"plans/<stack>.json ...\"" >&2; exit 1; }
	@$(PYTHON) -m tools.plan_review $(PLAN); status=$$?; case $$status in \
		0) ;; \
		3) echo "plan-review: status 3: data at risk where allow_destroy is not set (see the review)" >&2 ;; \
		*) echo "plan-review: status $$status: no review (see the line above)" >&2 ;; \
	esac; \
	[ $$status = 0 ] || echo "plan-review: make exits 2 for any failure; for the status itself run" \
		"$(PYTHON) -m tools.plan_review $(PLAN)" >&2; \
	exit $$status

# An offline review of your change: BASE (default: the merge-base with main) and the working tree
# are synthesized and their difference printed as the plan review's Markdown (a configuration
# diff: no state, no drift, no AWS account). Same statuses as plan-review, named on stderr.
review: $(INSTALLED)
	@$(PYTHON) -m tools.plan_review.review $(if $(BASE),--base "$(BASE)"); status=$$?; \
	case $$status in 0) ;; 3) echo "review: status 3: data at risk where allow_destroy is not set" >&2 ;; \
		*) echo "review: status $$status: no review (see the line above)" >&2 ;; esac; exit $$status

# The state bootstraps (docs/deploying.md#the-state-bootstrap), each after a synth of your config
# (PIPELINE_CONFIG is read by the tools as by the app): state-move renames the local state files of
# bootstraps named before 0.6 (once); state-self-host moves each `bootstrap: self-hosted` bootstrap's
# local state into its bucket (AWS credentials); state-recover prints the imports that rebuild a lost one.
state-move: synth
	@$(CDK_PYTHON) -m tools.state_move --stacks "$(OUT)/stacks"
state-self-host: synth
	@$(CDK_PYTHON) -m tools.state_self_host --stacks "$(OUT)/stacks"
state-recover: synth
	@$(CDK_PYTHON) -m tools.state_recover --stacks "$(OUT)/stacks"

clean:
	rm -rf cdktf.out hcl.out docs.out plans .pytest_cache .mypy_cache .ruff_cache
