# sa-lab: `make lab` sets up and opens the lab; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: lab setup build up down status doctor test lint unit integration notebooks browser bench gomod clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m labsetup.jupyter_settings
	touch $(STAMP)

setup: $(STAMP) build

# As root on Linux the opt-in node (kubelet + containerd) is built too, so its tests run.
build: $(STAMP)
	$(PY) -m labsetup build $(if $(filter 0,$(shell id -u)),--with-node)

lab: setup
	$(PY) -m labsetup up
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR)/notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

up down status doctor: $(STAMP)
	$(PY) -m labsetup $@

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env -p no:cacheprovider

bench: setup
	$(PY) -m labsetup bench

gomod: $(STAMP)
	$(PY) tools/update_gomod.py

clean:
	-$(PY) -m labsetup down --purge
	rm -rf $(VENV)
