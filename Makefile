# Two commands do all set-up on a fresh machine:  make run  and  make test.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
HTMX    := web/static/vendor/htmx.min.js
FLASK   := $(BIN)/flask --app web

.PHONY: run test install assets migrate demo lint bench clean browsers fonts

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) assets translations fonts

# htmx comes from the npm registry, pinned in package-lock.json; never a CDN.
# Every page works without JavaScript, so a machine without npm still runs the site.
$(HTMX): package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --no-audit --no-fund --loglevel=error && mkdir -p web/static/vendor && \
	  cp node_modules/htmx.org/dist/htmx.min.js $(HTMX); \
	else echo "npm not found: serving pages without htmx (they work without JavaScript)"; fi

# Swagger UI for /api/docs, from the npm registry like htmx (pinned in package-lock.json).
SWAGGER := web/static/vendor/swagger-ui/swagger-ui-bundle.js
$(SWAGGER): package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --no-audit --no-fund --loglevel=error && mkdir -p web/static/vendor/swagger-ui && \
	  cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	    web/static/vendor/swagger-ui/; \
	else echo "npm not found: /api/docs has no viewer (/api/openapi.json still works)"; fi

assets: $(HTMX) $(SWAGGER)

# The English catalog: .po is committed, .mo is built here (and gitignored).
translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d web/translations

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo load

run: demo
	$(FLASK) run --debug --host 127.0.0.1 --port 5000

# Receipts embed a Chinese TrueType font from Debian (fpdf2 embeds TrueType; Noto CJK is
# CFF-flavoured); never a download at run time. RECEIPT_FONT may name another .ttf/.ttc.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
fonts:
	@test -n "$$RECEIPT_FONT" || test -f $(CJK_FONT) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) || \
	  echo "could not install fonts-wqy-microhei: receipts (PDF) will fail until a Chinese font is installed"

# Playwright drives Debian's chromium (never a browser download).
browsers:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

test: install browsers
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/matching.py

clean:
	rm -rf $(VENV) node_modules web/static/vendor instance/*.db
