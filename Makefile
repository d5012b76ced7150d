# Two commands set everything up on a fresh machine:
#   make demo   installs what the demo needs, fetches the sample media, renders the demo dataset
#   make test   installs the full stack (trainer, extras, test tools) and runs the test suite
# Both are idempotent: a second run reuses the virtual environment and the media.

PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
MEDIA   ?= .cache/media
OUT     ?= out/demo
export YOLO_OFFLINE := 1
export YOLO_CONFIG_DIR := $(CURDIR)/.cache/ultralytics
export HF_HUB_OFFLINE := 1
export RAY_USAGE_STATS_ENABLED := 0
export VCPREP_MEDIA := $(CURDIR)/$(MEDIA)

.PHONY: demo test lint media install-prep install-all clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch/torchvision: the matched PyPI pair (never +cpu; see ../shared/ENVIRONMENT.md)
$(VENV)/.prep: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[prep]'
	touch $@

$(VENV)/.all: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[prep,decord,yolo,sam2,ray,train,dev]'
	touch $@ $(VENV)/.prep

install-prep: $(VENV)/.prep
install-all: $(VENV)/.all

media:
	bash scripts/fetch_media.sh $(MEDIA)

demo: install-prep media
	$(BIN)/vcprep render pipelines/demo.yaml --out $(OUT)
	$(BIN)/vcprep preview $(OUT) --out $(OUT)/preview.png
	@echo "demo dataset: $(OUT)  (data card: $(OUT)/README.md, contact sheet: $(OUT)/preview.png)"

test: install-all media
	$(BIN)/python -m pytest -q -x --durations=15

lint: install-all
	$(BIN)/ruff check vcprep vctrain tests bench

clean:
	rm -rf out .pytest_cache
