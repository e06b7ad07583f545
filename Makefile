# The two commands of a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/demo

.PHONY: venv demo test lint bench clean

$(STAMP): requirements.lock setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	@echo "== Converting the bundled official-format checkpoint (stylegan2-ada-pytorch pickle) to .keras"
	$(BIN)/python -m tf_stylegan.tools.convert --src=tests/data/ada_small.pkl --outdir=$(OUT)/converted
	@echo "== Generating a 4x4 grid from the converted G_ema"
	$(BIN)/python -m tf_stylegan.tools.generate --network=$(OUT)/converted/G_ema.keras \
		--seeds=0-15 --grid=4x4 --no-singles --outdir=$(OUT)/converted_samples
	@echo "== Generating a grid from a randomly initialised 'tiny' preset"
	$(BIN)/python -m tf_stylegan.tools.generate --config=tiny --seeds=0-15 --grid=4x4 \
		--no-singles --outdir=$(OUT)/tiny_samples
	@echo "Done: see $(OUT)/. Training on the bundled dataset becomes the demo once the trainer lands."

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python bench/generator.py

clean:
	rm -rf $(VENV) out build *.egg-info
