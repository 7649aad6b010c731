"""The course where learners live: JupyterLab in a real browser.

One JupyterLab server, started from the course environment on a scratch copy of the
course (so running notebooks writes nothing into the repository), and one headless
Chromium driven by Playwright. For every lesson:

- the solution version (the student notebook with the solution's answers filled in, as a
  learner who finished would have it) runs with Run All: no cell shows an error, every plot
  renders, every widget renders, and every widget answers input: a slider moved with the
  keyboard changes its plot or numbers, a quiz answer checked shows its verdict;
- the untouched student version, run cell after cell as a learner would, shows for each
  unfinished exercise (and every later cell that needs it) one friendly line, never a
  traceback.

Then the instructor's side: nbgrader's JupyterLab extensions are active, Validate on the
notebook toolbar reports what is left to do, and Formgrader lists the course's assignments.
Screenshots land in artifacts/browser/. Needs Chromium (`make test` installs it) and the
`playwright` package from requirements.txt; a missing one fails the test, never skips it.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import autograde, course
from lessons import LESSONS, ROOT

# One xdist group, so that one worker holds the JupyterLab server and the browser; the fixtures are
# session-scoped, so a worker starts them once even when other modules' tests run in between.
pytestmark = pytest.mark.xdist_group("browser")

ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
NBGRADER_PLUGINS = ["assignment-list", "formgrader", "create-assignment", "validate-assignment", "course-list", "menu"]
NBGRADER_SERVER_ROUTES = {"assignment_list": "assignments", "course_list": "formgraders",
                          "formgrader": "formgrader/api/assignments", "validate_assignment": "assignments/validate"}
NBGRADER_COMMANDS = ["nbgrader:open-assignment-list", "nbgrader:open-formgrader", "nbgrader:open-create-assignment"]
RUN_TIMEOUT_S = 300  # a whole notebook in fast mode; the full budget is 180 s
WIDGET_TIMEOUT_S = 60  # one widget's kernel round trip (a re-drawn plot)
FRIENDLY = re.compile(r"^[⏸✗] \S")

# Helpers evaluated in the page: the notebook's cells as data, and what a widget area shows.
JS_HELPERS = r"""
() => {
  const app = window.jupyterapp;
  const strip = s => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  const CONTROLS = '.widget-slider, .widget-hslider, .widget-vslider, .widget-readout, .widget-dropdown, '
    + '.widget-radio-box, .widget-checkbox, .widget-toggle-buttons, .widget-button, .widget-text, '
    + '.widget-inline-hbox > label, select, input, button, textarea';
  const T = window.courseTest = {
    panel() { return app.shell.currentWidget; },
    async open(path) {
      const w = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
      await w.context.ready;
      await w.sessionContext.ready;
      await w.revealed;
      app.shell.activateById(w.id);
      return w.id;
    },
    kernelStatus() {
      const k = T.panel().sessionContext.session && T.panel().sessionContext.session.kernel;
      return k ? k.status : 'none';
    },
    async runAll() {
      return await app.commands.execute('notebook:run-all-cells');
    },
    // Start Run All (and, for the student version, the remaining cells) without waiting in evaluate().
    start(rest) {
      T.done = false; T.failed = null;
      (async () => {
        try { await T.runAll(); if (rest) await T.runRest(); } catch (e) { T.failed = String(e); }
        T.done = true;
      })();
    },
    // Run All stops at the first error, as it does for a learner; a learner then goes on from the
    // next cell. Run all below the first code cell that has not run, until every one has. A round
    // that does not get past the last cell run (JupyterLab moved the active cell) is tried again.
    async runRest() {
      const nb = T.panel().content;
      let rounds = 0, lastSeen = -2, stuck = 0;
      for (;;) {
        const cells = nb.model.cells;
        let last = -1, next = -1;
        for (let i = 0; i < cells.length; i++)
          if (cells.get(i).type === 'code' && cells.get(i).executionCount !== null) last = i;
        for (let i = last + 1; i < cells.length; i++)
          if (cells.get(i).type === 'code' && cells.get(i).sharedModel.getSource().trim()) { next = i; break; }
        if (next < 0) return rounds;
        if (last === lastSeen && ++stuck > 3) throw new Error(`cell ${next} does not run`);
        if (last !== lastSeen) { stuck = 0; lastSeen = last; }
        rounds++;
        await new Promise(resolve => setTimeout(resolve, 50));
        nb.activeCellIndex = next;
        if (nb.activeCellIndex !== next) continue;
        await app.commands.execute('notebook:run-all-below');
      }
    },
    // Code cells with their nbgrader role, outputs, and how each output rendered.
    cells() {
      const nb = T.panel().content, out = [];
      for (let i = 0; i < nb.widgets.length; i++) {
        const cell = nb.widgets[i], model = cell.model;
        if (model.type !== 'code') continue;
        const meta = model.getMetadata('nbgrader') || {};
        const children = cell.outputArea ? Array.from(cell.outputArea.node.children) : [];
        const outputs = [];
        for (let k = 0; k < model.outputs.length; k++) {
          const o = model.outputs.get(k).toJSON(), node = children[k];
          const data = o.data || {};
          const hidden = !node || !!node.querySelector(':scope > .lm-mod-hidden') || node.classList.contains('lm-mod-hidden');
          const imgs = node ? Array.from(node.querySelectorAll('img')) : [];
          outputs.push({
            type: o.output_type, name: o.name || null, ename: o.ename || null,
            text: o.output_type === 'error' ? strip((o.traceback || []).join('\n'))
                : o.output_type === 'stream' ? o.text : strip(data['text/plain'] || ''),
            mimes: Object.keys(data),
            hidden,
            images: imgs.length,
            imagesLoaded: imgs.filter(img => img.complete && img.naturalWidth > 0).length,
            widgetRendered: !!(node && node.querySelector('.jupyter-widgets')),
            widgetError: !!(node && /Error displaying widget|model not found/i.test(node.textContent)),
          });
        }
        out.push({index: i, id: meta.grade_id || null, grade: !!meta.grade, solution: !!meta.solution,
                  empty: !model.sharedModel.getSource().trim(), executionCount: model.executionCount, outputs});
      }
      return out;
    },
    // What a widget area shows, leaving out the controls themselves (their readouts change too).
    snapshot(id) {
      const root = document.querySelector(`[data-course-scope~="${id}"]`);
      if (!root) return null;
      const parts = Array.from(root.querySelectorAll('img')).map(img => img.src);
      parts.push(...Array.from(root.querySelectorAll('svg, canvas')).map(e => e.outerHTML.length + (e.toDataURL ? e.toDataURL() : '')));
      const clone = root.cloneNode(true);
      clone.querySelectorAll(CONTROLS).forEach(e => e.remove());
      parts.push(clone.textContent);
      return parts.join('\n');
    },
    // Tag every control in visible widget outputs, with the element whose content it should change.
    controls() {
      const nb = T.panel().content, found = [];
      let n = 0;
      const tag = (el, kind, scopeEl, cellIndex) => {
        const id = String(n++);
        el.setAttribute('data-course-control', id);
        const scopes = scopeEl.getAttribute('data-course-scope');  // several controls may share one area
        scopeEl.setAttribute('data-course-scope', scopes ? `${scopes} ${id}` : id);
        found.push({id, kind, cell: cellIndex, label: (el.closest('.widget-inline-hbox, .widget-box') || el).textContent.trim().slice(0, 80)});
      };
      nb.widgets.forEach((cell, i) => {
        if (cell.model.type !== 'code' || !cell.outputArea) return;
        const area = cell.outputArea.node;
        const visible = el => !el.closest('.lm-mod-hidden');
        area.querySelectorAll('.widget-slider, .widget-hslider, .widget-vslider').forEach(s => {
          if (!visible(s) || s.closest('[data-course-control]')) return;
          const handle = s.querySelector('.noUi-handle');
          if (handle && !s.classList.contains('mod-disabled')) tag(handle, 'slider', area, i);
        });
        area.querySelectorAll('.widget-dropdown select').forEach(s => { if (visible(s) && !s.disabled) tag(s, 'dropdown', area, i); });
        area.querySelectorAll('.widget-checkbox input[type=checkbox]').forEach(s => { if (visible(s) && !s.disabled) tag(s, 'checkbox', area, i); });
        area.querySelectorAll('.widget-toggle-buttons').forEach(s => {
          const b = Array.from(s.querySelectorAll('button')).find(b => !b.classList.contains('mod-active') && !b.disabled);
          if (visible(s) && b) tag(b, 'toggle', area, i);
        });
        const answerKinds = new Set();  // a quiz: one multiple-choice row and one numeric row are enough
        area.querySelectorAll('button.widget-button, .widget-button button, button.jupyter-button').forEach(b => {
          if (!visible(b) || b.disabled || b.closest('.widget-toggle-buttons') || b.hasAttribute('data-course-control')) return;
          // The row a button belongs to: the nearest box holding the answer it checks, if any.
          let row = b.parentElement, inputs = null;
          while (row && row !== area) {
            if (row.matches('.widget-box') && row.querySelector('input[type=radio], .widget-text input, input[type=number], textarea')) {
              inputs = row; break;
            }
            row = row.parentElement;
          }
          if (inputs) {
            const answerKind = inputs.querySelector('input[type=radio]') ? 'choice' : 'typed';
            if (answerKinds.has(answerKind)) return;
            answerKinds.add(answerKind);
          }
          tag(b, inputs ? 'answer' : 'button', inputs || b.closest('.widget-box') || area, i);
        });
      });
      return found;
    },
    errorsShown() {
      // Error-looking text anywhere in the notebook's rendered outputs, widgets' Output areas included.
      return Array.from(T.panel().content.node.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'))
        .map(e => e.textContent).filter(t => /Traceback|Error\b|Exception\b/.test(t) && !/^[⏸✗] /.test(t.trim()));
    },
    async close() {
      const w = T.panel();
      if (!w || !w.sessionContext) return;
      await w.sessionContext.shutdown();
      w.dispose();
    },
  };
  return true;
}
"""


# Not a lesson: the kinds of widgets lessons use (an interactive plot, a slider driving printed
# numbers, a dropdown), so the harness is proven able to drive them whatever the lessons hold.
PROBE_CELLS = [
    """import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
%matplotlib inline""",
    """@widgets.interact(frequency=(1, 5))
def wave(frequency=5):
    x = np.linspace(0, 1, 200)
    plt.plot(x, np.sin(2 * np.pi * frequency * x))
    plt.show()""",
    """temperature = widgets.FloatSlider(value=1.0, min=0.1, max=2.0, step=0.1, description="temperature")
shown = widgets.Output()
def show(change=None):
    weights = np.exp(np.array([1.0, 2.0, 3.0]) / temperature.value)
    shown.clear_output(wait=True)
    with shown:
        print("softmax weights:", np.round(weights / weights.sum(), 3))
temperature.observe(show, "value")
show()
display(widgets.VBox([temperature, shown]))""",
    """@widgets.interact(head=["head 0", "head 1", "head 2"])
def pick(head):
    print(f"showing {head}")""",
]


# One file per pytest-xdist worker: should the browser group ever be split, nothing is overwritten.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
SUFFIX = f"-{WORKER}" if WORKER else ""


class Timings:
    """How long each step took, written next to the screenshots."""

    def __init__(self):
        self.rows: list[tuple[str, float]] = []

    def add(self, what: str, seconds: float) -> None:
        self.rows.append((what, seconds))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"timings{SUFFIX}.txt").write_text("".join(f"{s:7.1f} s  {w}\n" for w, s in self.rows))


TIMINGS = Timings()


def _chromium() -> str:
    """Debian's Chromium (or the browser COURSE_CHROMIUM names); fail, never skip, without one."""
    named = os.environ.get("COURSE_CHROMIUM")
    found = named or next(filter(None, (shutil.which(name) for name in
                                        ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))), None)
    if not found or not os.path.exists(found):
        pytest.fail("Chromium is missing, so the course cannot be tested in JupyterLab: run `make test`, whose set-up "
                    "installs it (on Debian/Ubuntu: apt-get install -y --no-install-recommends chromium), or point "
                    "COURSE_CHROMIUM at a Chromium or Chrome binary", pytrace=False)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory) -> Path:
    """A scratch course: config, sources, the untouched student notebooks, and the solved ones."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    for lesson in LESSONS:
        shutil.copytree(ROOT / "solutions" / lesson, root / "solutions" / lesson)
        if not course.release_path(lesson).exists():
            continue  # its tests fail with a message; the other lessons still run
        shutil.copytree(ROOT / "notebooks" / lesson, root / "notebooks" / lesson)
        (root / "solved" / lesson).mkdir(parents=True)
        nbformat.write(autograde.solved(lesson), root / "solved" / lesson / f"{lesson}.ipynb")
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in PROBE_CELLS])
    probe.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / "probe").mkdir()
    nbformat.write(probe, root / "probe" / "widgets.ipynb")
    return root


@pytest.fixture(scope="session")
def lab_server(course_copy, tmp_path_factory):
    """JupyterLab from this environment, on localhost, rooted at the scratch course."""
    home = tmp_path_factory.mktemp("jupyter")
    config = home / "config"
    config.mkdir()
    # No announcements or update checks (the network is closed); the app object is exposed so
    # the test can drive JupyterLab's own commands, as menus and shortcuts do.
    (config / "jupyter_server_config.py").write_text(
        "c.LabApp.news_url = None\n"
        "c.LabApp.check_for_updates_class = 'jupyterlab.handlers.announcements.NeverCheckForUpdate'\n"
        "c.LabApp.expose_app_in_browser = True\n")
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "COURSE_RESULTS", "JUPYTER_PATH")}
    env.update({
        "COURSE_FAST": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"), "JUPYTER_DATA_DIR": str(home / "data"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"jupyterlab{SUFFIX}.log"
    log = open(log_path, "w")
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--ServerApp.token={token}", f"--ServerApp.root_dir={course_copy}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=course_copy, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{_log_tail(log_path)}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"JupyterLab did not answer on {url} within 90 s:\n{_log_tail(log_path)}", pytrace=False)
            time.sleep(0.5)
        TIMINGS.add("JupyterLab server answers", time.perf_counter() - started)
        yield {"url": url, "token": token, "root": course_copy, "log": log_path, "env": env}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Chromium (Debian's) with a fresh profile."""
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the `playwright` package is missing: run `make test`, which installs requirements.txt", pytrace=False)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=executable, headless=True,
            args=CHROMIUM_ARGS, viewport=VIEWPORT)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session")
def lab(browser, lab_server):
    """A JupyterLab page with a fresh workspace, ready for commands."""
    started = time.perf_counter()
    page = browser.new_page()
    page.set_default_timeout(60_000)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{lab_server['url']}/lab?reset&token={lab_server['token']}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=90_000)
    page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
    page.evaluate(JS_HELPERS)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    TIMINGS.add("JupyterLab page ready", time.perf_counter() - started)
    page.screenshot(path=str(ARTIFACTS / f"jupyterlab{SUFFIX}.png"))
    yield {"page": page, "server": lab_server, "console_errors": console_errors}
    page.close()


# ---------------------------------------------------------------- page helpers

def _require_release(lesson: str) -> None:
    if not course.release_path(lesson).exists():
        pytest.fail(f"{lesson} has no student notebook notebooks/{lesson}/{lesson}.ipynb: run `make release`", pytrace=False)


def _open(page, path: str) -> None:
    page.evaluate("async path => await window.courseTest.open(path)", path)
    page.wait_for_function("() => window.courseTest.kernelStatus() === 'idle'", timeout=90_000)


def _wait_idle(page, timeout_s: float = RUN_TIMEOUT_S, quiet_s: float = 0.5) -> None:
    """Until the kernel is idle and stays idle (widget callbacks may come in right after)."""
    deadline = time.time() + timeout_s
    idle_since = None
    while time.time() < deadline:
        status = page.evaluate("() => window.courseTest.kernelStatus()")
        assert status not in ("dead", "none"), f"the kernel is {status}"
        if status == "idle":
            idle_since = idle_since or time.time()
            if time.time() - idle_since >= quiet_s:
                return
        else:
            idle_since = None
        time.sleep(0.1)
    raise AssertionError(f"the kernel is still busy after {timeout_s} s")


def _run_all(page, rest: bool = False) -> None:
    page.evaluate("rest => window.courseTest.start(rest)", rest)
    try:
        page.wait_for_function("() => window.courseTest.done", timeout=RUN_TIMEOUT_S * 1000, polling=250)
    except Exception:
        raise AssertionError(f"the notebook did not finish running within {RUN_TIMEOUT_S} s "
                             f"(kernel: {page.evaluate('() => window.courseTest.kernelStatus()')})") from None
    failed = page.evaluate("() => window.courseTest.failed")
    assert failed is None, f"running the notebook failed in JupyterLab: {failed}"
    _wait_idle(page)


def _wait_widgets_rendered(page) -> list[dict]:
    deadline = time.time() + WIDGET_TIMEOUT_S
    while True:
        cells = page.evaluate("() => window.courseTest.cells()")
        pending = [(c["id"] or c["index"]) for c in cells for o in c["outputs"]
                   if "application/vnd.jupyter.widget-view+json" in o["mimes"] and not o["hidden"]
                   and not o["widgetRendered"] and not o["widgetError"]]
        pending_images = [(c["id"] or c["index"]) for c in cells for o in c["outputs"] if o["imagesLoaded"] < o["images"]]
        if not pending and not pending_images or time.time() > deadline:
            return cells
        time.sleep(0.25)


def _stable_snapshot(page, control: str, timeout_s: float = WIDGET_TIMEOUT_S) -> str:
    """The widget area once the kernel has answered and nothing changes any more."""
    _wait_idle(page, timeout_s, quiet_s=0.3)
    last = page.evaluate("id => window.courseTest.snapshot(id)", control)
    while True:
        time.sleep(0.3)
        now = page.evaluate("id => window.courseTest.snapshot(id)", control)
        if now == last and page.evaluate("() => window.courseTest.kernelStatus()") == "idle":
            return now
        last = now


def _visual_kind(snapshot: str) -> str:
    return "plot" if "data:image" in snapshot or "<svg" in snapshot else "numbers"


def _exercise(page, control: dict) -> str:
    """Give one control new input, as a learner would; returns what changed, or raises."""
    cid = control["id"]
    element = page.locator(f'[data-course-control="{cid}"]')
    element.scroll_into_view_if_needed()
    before = _stable_snapshot(page, cid)
    if control["kind"] == "slider":
        value = element.get_attribute("aria-valuenow")
        element.focus()
        page.keyboard.press("ArrowRight")
        if element.get_attribute("aria-valuenow") == value:  # at its maximum: go the other way
            page.keyboard.press("ArrowLeft")
        assert element.get_attribute("aria-valuenow") != value, f"the slider {control['label']!r} did not move"
    elif control["kind"] == "dropdown":
        options = element.locator("option").all()
        current = element.input_value()
        other = next((o.get_attribute("value") for o in options if o.get_attribute("value") != current), None)
        assert other is not None, f"the dropdown {control['label']!r} has a single option"
        element.select_option(other)
    elif control["kind"] in ("checkbox", "toggle", "button"):
        element.click()
    elif control["kind"] == "answer":
        row = page.locator(f'[data-course-scope~="{cid}"]')
        radios = row.locator("input[type=radio]")
        if radios.count():
            radios.first.check()
        numbers = row.locator(".widget-text input, input[type=number], textarea")
        for i in range(numbers.count()):
            numbers.nth(i).fill("3")
            if numbers.nth(i).evaluate("e => e.tagName") == "INPUT":
                numbers.nth(i).press("Enter")
        element.click()
    try:
        page.wait_for_function("([id, before]) => window.courseTest.snapshot(id) !== before", arg=[cid, before],
                               timeout=WIDGET_TIMEOUT_S * 1000)
    except Exception:
        raise AssertionError(f"cell {control['cell']}: the {control['kind']} {control['label']!r} changed nothing "
                             f"within {WIDGET_TIMEOUT_S} s") from None
    after = _stable_snapshot(page, cid)
    assert after != before, f"cell {control['cell']}: the {control['kind']} {control['label']!r} changed nothing in the end"
    if control["kind"] == "answer":
        assert "✓" in after or "✗" in after, f"cell {control['cell']}: checking an answer showed no verdict: {after[-200:]!r}"
    if control["kind"] == "slider" and _visual_kind(before) == "plot":
        assert _visual_kind(after) == "plot", f"cell {control['cell']}: the plot disappeared when the slider moved"
    return _visual_kind(after)


def _screenshot_notebook(page, name: str, max_height: int = 12_000) -> list[Path]:
    """The whole notebook: a viewport as tall as the notebook (cells render as they come into view),
    in several parts if it is taller than the browser can capture at once."""
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    measure = """() => { const n = window.courseTest.panel().content.node;
        const outer = n.querySelector('.jp-WindowedPanel-outer'), cells = n.querySelector('.jp-WindowedPanel-viewport');
        return [cells.offsetHeight, window.innerHeight - outer.clientHeight]; }"""
    scroll = "y => { window.courseTest.panel().content.node.querySelector('.jp-WindowedPanel-outer').scrollTop = y; }"
    page.evaluate(scroll, 0)
    height = VIEWPORT["height"]
    paths = []
    try:
        for _ in range(8):
            content, chrome = page.evaluate(measure)
            wanted = min(content + chrome + 20, max_height)
            if abs(wanted - height) < 10:
                break
            height = wanted
            page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
            page.wait_for_timeout(400)
        content, chrome = page.evaluate(measure)
        step = height - chrome - 40
        parts = max(1, -(-(content - 20) // step))
        for part in range(parts):
            page.evaluate(scroll, part * step)
            page.wait_for_timeout(300)
            path = ARTIFACTS / (f"{name}.png" if parts == 1 else f"{name}-part{part + 1}.png")
            page.screenshot(path=str(path))
            paths.append(path)
    finally:
        page.set_viewport_size(VIEWPORT)
        page.evaluate(scroll, 0)
    return paths


def _close(page) -> None:
    """Shut the current notebook's kernel down and close it, whatever state a failed test left."""
    try:
        page.keyboard.press("Escape")  # a dialog left open
        page.evaluate("async () => await window.courseTest.close()")
    except Exception as error:  # never hide the test's own failure behind this one
        print(f"could not close the notebook: {error}", file=sys.stderr)


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


# ---------------------------------------------------------------- tests

def test_nbgrader_extensions_are_enabled(lab):
    """Assignment list, formgrader, create assignment and validate are installed and active."""
    page = lab["page"]
    status = page.evaluate("ids => ids.map(id => [id, window.jupyterapp.hasPlugin(id) && window.jupyterapp.isPluginActivated(id)])",
                           [f"@jupyter/nbgrader:{p}" for p in NBGRADER_PLUGINS])
    inactive = [pid for pid, active in status if not active]
    assert not inactive, f"nbgrader's JupyterLab plugins not active: {inactive}"
    missing = [c for c in NBGRADER_COMMANDS if not page.evaluate("c => window.jupyterapp.commands.hasCommand(c)", c)]
    assert not missing, f"nbgrader's JupyterLab commands missing: {missing}"
    # Their server halves answer in this running server (a route that is not registered is a 404).
    server = lab["server"]
    for extension, route in NBGRADER_SERVER_ROUTES.items():
        try:
            with urllib.request.urlopen(f"{server['url']}/{route}?token={server['token']}", timeout=30) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        assert status != 404, f"nbgrader's server extension {extension} is not loaded: /{route} is not found"


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_runs_in_jupyterlab_with_working_widgets(lab, lesson):
    """The finished notebook: no error anywhere, plots render, every widget renders and answers input."""
    page = lab["page"]
    _require_release(lesson)
    started = time.perf_counter()
    try:
        _open(page, f"solved/{lesson}/{lesson}.ipynb")
        _run_all(page)
        TIMINGS.add(f"{lesson}: solution version, Run All", time.perf_counter() - started)
        cells = _wait_widgets_rendered(page)
        not_run = [c["id"] or c["index"] for c in cells if c["executionCount"] is None and not c["empty"]]
        assert not not_run, f"Run All did not reach these cells: {not_run}"
        shown = [f"{c['id']}: {o['ename'] or 'stderr'}: {_one_line(o['text'])}" for c in cells for o in c["outputs"]
                 if o["type"] == "error" or (o["type"] == "stream" and o["name"] == "stderr")]
        assert not shown, f"{lesson}, solution version: cells show errors or stderr in JupyterLab: {shown}"
        images = [o for c in cells for o in c["outputs"] if "image/png" in o["mimes"] or "image/svg+xml" in o["mimes"]]
        assert images, f"{lesson}: no plot appeared"
        unrendered = [c["id"] for c in cells for o in c["outputs"] if o["images"] > o["imagesLoaded"]]
        assert not unrendered, f"{lesson}: plots that did not render in these cells: {unrendered}"
        widget_outputs = [(c["id"], o) for c in cells for o in c["outputs"]
                          if "application/vnd.jupyter.widget-view+json" in o["mimes"] and not o["hidden"]]
        broken = [cid for cid, o in widget_outputs if not o["widgetRendered"] or o["widgetError"]]
        assert not broken, (f"{lesson}: widgets that did not render (the widget manager extension?) in: {broken}; "
                            f"browser console errors: {lab['console_errors'][-5:]}")

        controls = page.evaluate("() => window.courseTest.controls()")
        if widget_outputs:
            assert controls, f"{lesson}: widgets render but none of them can be operated"
        started = time.perf_counter()
        for control in controls:
            _exercise(page, control)
            scope = page.locator(f'[data-course-scope~="{control["id"]}"]')
            scope.screenshot(path=str(ARTIFACTS / f"{lesson}-widget-{int(control['id']):02d}-{control['kind']}.png"))
        TIMINGS.add(f"{lesson}: {len(controls)} widget controls exercised", time.perf_counter() - started)
        errors = page.evaluate("() => window.courseTest.errorsShown()")
        assert not errors, f"{lesson}: errors appeared while using the widgets: {[_one_line(e) for e in errors]}"
        cut = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea .widget-label, .jp-OutputArea .widget-readout')]
            .filter(l => l.offsetParent !== null && l.scrollWidth > l.clientWidth + 1).map(l => l.textContent.trim())""")
        assert not cut, f"{lesson}: widget labels or values cut off (widen them with style={{'description_width': 'initial'}}): {cut}"
        _screenshot_notebook(page, f"{lesson}-solution")
    finally:
        page.screenshot(path=str(ARTIFACTS / f"{lesson}-solution-viewport.png"))
        _close(page)


@pytest.mark.parametrize("lesson", LESSONS)
def test_student_version_shows_one_friendly_line_per_unfinished_exercise(lab, lesson):
    """The untouched notebook, run as a learner runs it: each unfinished exercise, and every later cell
    that needs it, says in one line what to finish first; no traceback anywhere."""
    page = lab["page"]
    _require_release(lesson)
    started = time.perf_counter()
    try:
        _open(page, f"notebooks/{lesson}/{lesson}.ipynb")
        _run_all(page, rest=True)
        TIMINGS.add(f"{lesson}: student version, Run All then each remaining cell", time.perf_counter() - started)
        cells = _wait_widgets_rendered(page)
        counts = [c["executionCount"] for c in cells if c["executionCount"] is not None]
        assert len(counts) == len([c for c in cells if not c["empty"]]) and counts == sorted(counts), (
            f"{lesson}: the cells did not all run top to bottom: execution counts {[c['executionCount'] for c in cells]}")
        errors = [(c, o) for c in cells for o in c["outputs"] if o["type"] == "error"]
        assert errors, f"{lesson}: the untouched student notebook shows no error at all: are the exercises stubs?"
        long = [f"{c['id'] or c['index']}: {o['text'].strip().splitlines()[-1][:300]} (in a {len(o['text'].splitlines())}-line traceback)"
                for c, o in errors
                if len(o["text"].strip().splitlines()) != 1 or not FRIENDLY.match(o["text"].strip())]
        assert not long, f"{lesson}: a learner sees tracebacks instead of one friendly line: {long}"
        tests = [c for c in cells if c["grade"] and not c["solution"]]
        silent = [c["id"] for c in tests if not any(o["type"] == "error" for o in c["outputs"])]
        assert not silent, f"{lesson}: these test cells pass on the untouched notebook (or did not run): {silent}"
        unfinished = [c["id"] for c in tests if not any(o["type"] == "error" and o["text"].startswith("⏸") for o in c["outputs"])]
        assert not unfinished, f"{lesson}: these test cells do not say which exercise to finish first: {unfinished}"
        stderr = [f"{c['id']}: {_one_line(o['text'])}" for c in cells for o in c["outputs"]
                  if o["type"] == "stream" and o["name"] == "stderr" and "Traceback" in o["text"]]
        assert not stderr, f"{lesson}: tracebacks printed to stderr: {stderr}"
        assert not page.evaluate("() => window.courseTest.errorsShown()"), f"{lesson}: a traceback is rendered somewhere"
        _screenshot_notebook(page, f"{lesson}-student")
    finally:
        page.screenshot(path=str(ARTIFACTS / f"{lesson}-student-viewport.png"))
        _close(page)


def test_harness_drives_sliders_plots_and_dropdowns(lab):
    """The widget driver itself, on a probe notebook with the widget kinds the lessons use: without
    this, a lesson whose sliders the driver could not find would pass for want of sliders."""
    page = lab["page"]
    try:
        _open(page, "probe/widgets.ipynb")
        _run_all(page)
        cells = _wait_widgets_rendered(page)
        assert not [o for c in cells for o in c["outputs"] if o["type"] == "error"], cells
        controls = page.evaluate("() => window.courseTest.controls()")
        assert sorted(c["kind"] for c in controls) == ["dropdown", "slider", "slider"], controls
        changed = [_exercise(page, control) for control in controls]
        assert changed == ["plot", "numbers", "numbers"], changed
        page.locator('[data-course-scope~="0"]').screenshot(path=str(ARTIFACTS / "probe-slider-plot.png"))
    finally:
        _close(page)


def test_validate_button_lists_what_is_left_to_do(lab):
    """Self-study: the notebook toolbar's Validate runs nbgrader validate on the student notebook."""
    page = lab["page"]
    lesson = next((lesson for lesson in LESSONS if course.release_path(lesson).exists()), None)
    assert lesson, "no lesson has a student notebook: run `make release`"
    try:
        _open(page, f"notebooks/{lesson}/{lesson}.ipynb")
        started = time.perf_counter()
        button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button").first
        button.click()
        message = page.locator("#validation-message")
        message.wait_for(timeout=RUN_TIMEOUT_S * 1000)
        TIMINGS.add(f"{lesson}: Validate button", time.perf_counter() - started)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"{lesson}-validate.png"))
        assert "validation-failed" in (message.get_attribute("class") or ""), message.inner_text()[:500]
        text = message.inner_text()
        assert "⏸" in text, f"Validate should show the one-line messages of the unfinished exercises: {text[:500]}"
        assert "Traceback" not in text, f"Validate shows tracebacks: {text[:1000]}"
    finally:
        _close(page)


def test_formgrader_lists_the_course_assignments(lab):
    """Instructors: the Formgrader panel opens on this course and lists every lesson."""
    page = lab["page"]
    started = time.perf_counter()
    page.evaluate("async () => await window.jupyterapp.commands.execute('nbgrader:open-formgrader')")
    frame = page.frame_locator("iframe[src*='formgrader']").first
    for lesson in LESSONS:
        frame.get_by_text(lesson, exact=True).first.wait_for(timeout=60_000)
    TIMINGS.add("formgrader lists the assignments", time.perf_counter() - started)
    page.screenshot(path=str(ARTIFACTS / "formgrader.png"))
    rows = frame.locator("tbody tr").all_inner_texts()
    listed = {lesson for lesson in LESSONS if any(lesson in row for row in rows)}
    assert listed == set(LESSONS), f"formgrader lists {sorted(listed)}; the course has {LESSONS}"
