"""Shared fixtures. Browser fixtures build dist/ once per session and serve it on a free localhost port.

Markers: every test that needs Chromium or Node.js is marked `browser` (the ones using a fixture of
BROWSER_FIXTURES or NODE_FIXTURES automatically, below; the others running Pyodide through node explicitly), so
`pytest -m "not browser"` runs the rest, offline, with neither on PATH.

One Chromium per session (`first_visit_browser`); `browser` is the same Chromium with every new context a repeat
visit of the one served site (`site_url`): the worker's Pyodide snapshot, made once, already kept (browser.py).

Golden runs: each case of tests/reference.py CASES is trained at most once per session and engine (`golden_runs`),
by the CLI, and every test that needs its stdout, losses, samples or log reads them from there. A test marked
`golden((case, engine), ..., reference=[case, ...])` says which runs it reads: the first time `golden_runs` is
used, every run the selected tests will read, and the reference runs they compare with, start at once in the
background (both cores work while this process waits).

Pyodide in Node.js (tests/pyodide_node.mjs): `under_pyodide` runs a script, `pyodide_cli` the CLI, both in the
background; `pyodide_words_log` is test_log.py's 15-step run, once per session.

Background runs: at the session's start (`_start_background_runs`), the golden runs above, the engines' cases
under Pyodide in Node.js (`pyodide_engines`) and `pyodide_words_log` start in the background when a selected test
reads them.
"""
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tests'))

import reference as R  # noqa: E402  (tests/reference.py)

# fixtures that need a Chromium: a test using any of them is marked `browser`
BROWSER_FIXTURES = {'browser', 'first_visit_browser', 'site_url', 'playwright_instance'}


def pytest_addoption(parser):
    try:
        parser.addoption('--browser', action='append', choices=('chromium', 'firefox', 'webkit'),
                         help='the engines tests/test_browsers.py runs in (repeatable; default: all three)')
    except ValueError:  # pytest-playwright's own --browser: the same names, repeatable too
        pass


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (BROWSER_FIXTURES | set(NODE_FIXTURES)) & set(getattr(item, 'fixturenames', ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope='session')
def dist_dir():
    import build
    return build.build()


@pytest.fixture(scope='session')
def site_url(dist_dir):
    import build
    server, url = build.serve_in_background(dist_dir)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
def sub_path_url(dist_dir, tmp_path):
    """The site served from /microgpt-web/, as a project page on a static host serves it."""
    import build
    (tmp_path / 'microgpt-web').symlink_to(dist_dir, target_is_directory=True)
    server, url = build.serve_in_background(tmp_path)
    yield url + 'microgpt-web/'
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='session')
def playwright_instance():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope='session')
def first_visit_browser(playwright_instance):
    """The session's one Chromium: each new context a first visit, nothing kept (test_start.py tests that visit)."""
    from browser import launch
    b = launch(playwright_instance)  # fails, with how to get a browser, when none is found
    yield b
    b.close()


@pytest.fixture(scope='session')
def browser(first_visit_browser, site_url):
    """The same Chromium, each new context a repeat visit of site_url: the worker's Pyodide snapshot, made once,
    already kept (browser.py's RepeatVisits), so a page starts in seconds, as it does for a returning user."""
    from browser import RepeatVisits
    b = RepeatVisits(first_visit_browser, site_url)
    yield b
    b.close()


# -- golden runs -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldenRun:
    """One run of `python -m microgpt` on a golden case: its stdout, its --log file, and what they say."""
    stdout: str
    log: bytes  # the --log CSV, byte for byte
    losses: list  # every step's loss, full precision (the log writes them by repr)
    samples: list  # the 20 samples printed after training

    @classmethod
    def parse(cls, stdout, log):
        rows = log.decode('utf-8').split('\n')[1:-1]
        losses = [float(row.split(',')[1]) for row in rows]
        samples = [line.split(': ', 1)[1] if ': ' in line else ''
                   for line in stdout.splitlines() if line.startswith('sample ')]
        return cls(stdout, log, losses, samples)


class GoldenRuns:
    """The CLI trained on each (case, engine) once: `start` launches the run in the background (to overlap with
    the reference or another run), `get` waits for it; both may be called any number of times."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.started = {}  # (case, engine) -> (Popen, folder)
        self.done = {}  # (case, engine) -> GoldenRun

    def start(self, name, engine):
        key = (name, engine)
        if key in self.started or key in self.done:
            return
        case = R.CASES[name]
        folder = self.folder / f'{name}-{engine}'
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        words = folder / f'{case["words"]}.txt'
        words.write_text(R.input_text(R.WORDS[case['words']]), encoding='utf-8')
        proc = R.start_cli('--input', words, *R.cli_flags(case['config']), '--engine', engine,
                           '--log', folder / 'log.csv')
        self.started[key] = (proc, folder)

    def get(self, name, engine):
        key = (name, engine)
        if key not in self.done:
            self.start(name, engine)
            proc, folder = self.started.pop(key)
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err.decode('utf-8', 'replace')
            self.done[key] = GoldenRun.parse(out.decode('utf-8'), (folder / 'log.csv').read_bytes())
        return self.done[key]

    def close(self):
        for proc, _ in self.started.values():
            proc.kill()
            proc.communicate()
        self.started.clear()


class Background:
    """A subprocess started now, its CompletedProcess (text) collected by result()."""

    def __init__(self, args, **kwargs):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
        self._result = None

    def result(self, timeout=600):
        if self._result is None:
            out, err = self.proc.communicate(timeout=timeout)
            self._result = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)
        return self._result

    def succeeded(self, timeout=600):
        """result(), failing with the run's stderr if it failed."""
        out = self.result(timeout)
        assert out.returncode == 0, out.stderr
        return out

    def stop(self):
        if self._result is None:
            self.proc.kill()
            self.proc.communicate()


# -- Pyodide in Node.js -------------------------------------------------------------------------------------
def under_pyodide(dist_dir, folder, script, *args):
    """tests/pyodide_node.mjs: `script` (in `folder`, its working directory) run by Pyodide in Node.js with the
    microgpt package dist/ serves: a Background run."""
    node = shutil.which('node')
    assert node, 'Node.js is needed to run Pyodide outside the browser'
    return Background([node, str(ROOT / 'tests' / 'pyodide_node.mjs'), str(dist_dir), str(folder), script,
                       *map(str, args)])


RUN_CLI = 'run_cli.py'  # `python -m microgpt` for pyodide_node.mjs; a copy of the package in pkg/ comes first
RUN_CLI_SOURCE = ('import os, sys\nif os.path.isdir("pkg"):\n    sys.path.insert(0, os.path.abspath("pkg"))\n'
                  'from microgpt.cli import main\nsys.exit(main(sys.argv[1:]))\n')


def pyodide_cli(dist_dir, folder, *args, package=None):
    """`python -m microgpt ARGS` under Pyodide in Node.js, in `folder`, with the package dist/ serves (or with
    `package`, a folder of microgpt's files, copied to folder/pkg/microgpt): a Background run."""
    folder = Path(folder)
    if package is not None:
        shutil.copytree(package, folder / 'pkg' / 'microgpt')
    script = folder / RUN_CLI
    if not script.exists():  # (another run in this folder may be reading it)
        script.write_text(RUN_CLI_SOURCE, encoding='utf-8')
    return under_pyodide(dist_dir, folder, RUN_CLI, *args)


def run_pyodide_cli(dist_dir, folder, *args):
    """pyodide_cli, waited for: its CompletedProcess (text); fails with its stderr if it failed."""
    return pyodide_cli(dist_dir, folder, *args).succeeded()


@pytest.fixture(scope='session')
def pyodide_engines(dist_dir):
    """tests/pyodide_engines.py (the engines' bit-for-bit cases) run by Pyodide in Node.js, with the package the
    site serves: a Background run."""
    run = under_pyodide(dist_dir, ROOT / 'tests', 'pyodide_engines.py')
    yield run
    run.stop()


@pytest.fixture(scope='session')
def pyodide_words_log(dist_dir, tmp_path_factory):
    """test_log.py's 15-step run of its words (seed 7, original engine) by the CLI under Pyodide in Node.js, once
    per session (test_log, test_keep and test_code_panel compare the page with it): a function giving its --log."""
    from test_log import CLI_FLAGS, WORDS
    folder = tmp_path_factory.mktemp('pyodide_words')
    (folder / 'words.txt').write_text('\n'.join(WORDS) + '\n')
    run = pyodide_cli(dist_dir, folder, '--input', 'words.txt', '--log', 'log.csv', '--engine', 'original',
                      *CLI_FLAGS)

    def log():
        run.succeeded()
        return (folder / 'log.csv').read_text()
    yield log
    run.stop()


NODE_FIXTURES = ('pyodide_engines', 'pyodide_words_log')  # runs started at the session's start when selected


@pytest.fixture(scope='session', autouse=True)
def _start_background_runs(request):
    """Start the slow subprocess runs the selected tests read, in the background, at the session's start."""
    items = request.session.items
    if any(item.get_closest_marker('golden') for item in items):
        request.getfixturevalue('golden_runs')
    for name in NODE_FIXTURES:
        if shutil.which('node') and any(name in getattr(item, 'fixturenames', ()) for item in items):
            request.getfixturevalue(name)


@pytest.fixture(scope='session')
def golden_runs(request):
    with tempfile.TemporaryDirectory() as tmp:
        runs = GoldenRuns(tmp)
        marks = [mark for item in request.session.items for mark in item.iter_markers('golden')]
        for mark in marks:  # the reference first: it takes longest
            for name in mark.kwargs.get('reference', ()):
                R.start_reference_run(name)
        for mark in marks:
            for name, engine in mark.args:
                runs.start(name, engine)
        try:
            yield runs
        finally:
            runs.close()
            R.stop_reference_runs()
