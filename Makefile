# The course's commands. `make lab` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser sandbox postgresql slurm lab test release benchmark grade homework

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-warn-script-location -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)  ## create .venv with the pinned stack and course_lib

browser:  ## Debian's Chromium for the browser test (a test tool's own browser download cannot work offline)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji)

sandbox:  ## Debian's bubblewrap, which seals each submission's kernel while grading (grading refuses to run without it)
	@command -v bwrap >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends bubblewrap)

postgresql:  ## Debian's PostgreSQL, whose server the test of a shared gradebook starts as an ordinary account in a temporary folder
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends postgresql)

slurm:  ## Debian's Slurm and munge, for the test that grades a class as a job array on a one-node cluster it starts
	@(command -v slurmd && command -v munged) >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends slurm-wlm munge)

lab: setup  ## open the course in JupyterLab (start with notebooks/01_rnn_limits)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)"

test: setup browser sandbox postgresql slurm  ## the whole test suite, on both cores (as root: grading is also tested as the account coursegrader)
	@[ "$$(id -u)" != 0 ] || id coursegrader >/dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin coursegrader
	@[ "$$(id -u)" != 0 ] || for a in courseinstructor coursealice coursebob; do id $$a >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin $$a; done  # the exchange test's instructor and students
	$(PY) -m pytest -n 2 --dist loadgroup

release: setup  ## strip solution outputs and regenerate notebooks/ from solutions/
	$(PY) -m course_lib.grading.course release

benchmark: setup  ## run times, autograde times and points per lesson
	$(PY) benchmarks/lessons.py

grade: setup  ## grade every submission of LESSON in parallel: make grade LESSON=01_rnn_limits
	@test -n "$(LESSON)" || (echo "say which lesson to grade: make grade LESSON=01_rnn_limits" >&2; exit 2)
	$(PY) -m course_lib.grading.autograde grade $(LESSON)

homework: setup  ## what students receive for graded homework, without the answers: make homework LESSON=02_attention [OUT=dir]
	@test -n "$(LESSON)" || (echo "say which lesson: make homework LESSON=02_attention" >&2; exit 2)
	$(PY) -m course_lib.grading.homework build $(LESSON) $(if $(OUT),--out $(OUT))
