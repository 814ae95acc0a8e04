# The README's two commands: `make run` and `make test`. Both set up everything on a fresh machine.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
INDEX   := .index/seed/manifest.json
SAMPLE  := 嘉兴高新区2025年规上工业企业研发经费预计达到多少？

# Debian's chromium for the Playwright tests, and a CJK font so pages render Chinese.
BROWSER := /usr/bin/chromium /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc

.PHONY: help setup browser run index test lint clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the project (torch pinned to the local CPU build)

$(INDEX): $(STAMP) $(wildcard corpus/*) $(shell find index -name "*.py")
	$(BIN)/qa index

index: $(INDEX)  ## convert the model (once) and build the index of corpus/

run: $(INDEX)  ## set up, build the index, run a sample search, then serve on http://127.0.0.1:8000
	$(BIN)/qa search "$(SAMPLE)" -k 1
	$(BIN)/qa serve

$(BROWSER) &:
	apt-get update -q && apt-get install -y -q chromium fonts-wqy-zenhei

browser: $(BROWSER)  ## Debian's chromium (and a CJK font) for the browser tests; needs root

test: $(STAMP) $(BROWSER)  ## run the whole test suite (needs no set-up beforehand)
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .

clean:  ## remove the virtualenv and built indexes (the model cache stays)
	rm -rf $(VENV) .index
