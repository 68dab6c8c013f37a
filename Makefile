# The two commands of the README. Each works alone on a fresh clone: it creates .venv when
# absent, installs requirements.txt and the package (editable) into it, then runs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	# the package itself, editable: seq2seq-train/-predict/-convert, and scripts/*.py find it
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The default model and settings (lr_find; the batch size follows the data: 16 for the sample),
# with 6 epochs instead of 10 to keep the demo short; see README.
DEMO_ARGS ?= --threads 1 --epochs 6

## demo: train on the bundled sample (data/sample.csv), print metrics and example predictions
demo: $(STAMP)
	$(PY) scripts/train.py --csv data/sample.csv --out models/demo $(DEMO_ARGS)
	$(PY) scripts/predict.py --model models/demo/model.safetensors --csv models/demo/valid.csv \
	    --out models/demo/valid_predictions.csv --ref annotated_text --decoder greedy --show 5

## test: the whole test suite (CI runs this through .ci/run)
test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) models .pytest_cache
