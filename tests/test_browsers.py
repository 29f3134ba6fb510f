"""The page in three engines (issue 20, item 4): Chromium, Firefox and WebKit (Safari's), each through
tests/drivers.py, on the same flows: ready, training on both engines (the log byte for byte what Pyodide in
Node.js computes), samples, chart, the views, the Code panel with edited code in the sandboxed worker, Copy link
and opening a link, Save model and Load model, Resume after a reload, and offline after a visit.

A declared subset of the browser suite (the rest drives Chromium through Playwright alone). The tests of a module
share one browser per engine and one tab, in order (each starts from where the previous one left the page):
WebKit's first visit is slow, so each browser loads the page four times in all. `--browser NAME` (repeatable)
picks the engines; `python build.py test --browser firefox` runs this module in Firefox alone.
"""
import json
import re
import shutil

import pytest

from conftest import ROOT, Background
from drivers import BROWSERS, start
from microgpt import Config

pytestmark = pytest.mark.browser  # browsers, and Pyodide in Node.js

STEPS = 20  # the default run (names, seed 42) cut to 20 steps
READY = "() => { const b = document.querySelector('#train'); return b && !b.disabled; }"
STATUS = "(want) => document.querySelector('#status').innerText.includes(want)"
COUNT = "(selector) => document.querySelectorAll(selector).length"
VALUE = "(selector) => document.querySelector(selector).value"
SELECT = """(selector, value) => { const s = document.querySelector(selector); s.value = value;
  s.dispatchEvent(new Event('change', {bubbles: true})); return s.value; }"""
# downloads are kept in the page (what a click on the download link carries), not saved: a browser's own
# download (or its dialog) is not the page's
CATCH_DOWNLOADS = """() => { window.__downloads = []; window.confirm = () => true;
  HTMLAnchorElement.prototype.click = function () {
    if (this.download) window.__downloads.push([this.download, fetch(this.href).then((r) => r.text())]);
  }; }"""
DOWNLOADED = """async (name) => { const d = window.__downloads.find(([n]) => n.startsWith(name));
  return d ? [d[0], await d[1]] : null; }"""
LOAD_FILE = """(name, text) => { const data = new DataTransfer();
  data.items.add(new File([text], name, {type: 'application/json'}));
  const input = document.querySelector('#load-model'); input.files = data.files;
  input.dispatchEvent(new Event('change', {bubbles: true})); }"""
EDITOR = "() => { const c = document.querySelector('.code-box').shadowRoot.querySelector('.cm-content'); c.focus(); }"
# typed at the end of microgpt/model.py: a squared ReLU, as `xi.relu() ** 2` in gpt() would be
SQUARED = '\n_relu = Value.relu\nValue.relu = lambda self: _relu(self) ** 2\n'
STORED_STEP = """async () => { const db = await new Promise((ok, fail) => {
    const r = indexedDB.open('microgpt'); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  if (!db.objectStoreNames.contains('meta')) { db.close(); return null; }
  const metas = await new Promise((ok) => { const r = db.transaction('meta').objectStore('meta').getAll();
    r.onsuccess = () => ok(r.result); });
  db.close(); return metas.length ? Math.max(...metas.map((m) => JSON.parse(m.meta).step)) : null; }"""
OFFLINE_COPY = """async () => { const reg = await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller || !reg.active) return false;
  const keys = (await caches.keys()).filter((key) => /^microgpt-[0-9a-f]{16}$/.test(key));
  return keys.length === 1 && (await (await caches.open(keys[0])).keys()).length > 50; }"""


def pytest_generate_tests(metafunc):
    if 'tab' in metafunc.fixturenames:
        chosen = metafunc.config.getoption('browser') or list(BROWSERS)
        metafunc.parametrize('engine_name', chosen, scope='module')


@pytest.fixture(scope='module')
def node_log(dist_dir, tmp_path_factory):
    """The default run's 20 steps, by the CLI under Pyodide in Node.js (started now, in the background)."""
    node = shutil.which('node')
    assert node, 'Node.js is needed to run Pyodide outside the browser'
    folder = tmp_path_factory.mktemp('node_log')
    shutil.copy(dist_dir / 'data' / 'names.txt', folder / 'names.txt')
    (folder / 'run.py').write_text('import sys\nfrom microgpt.cli import main\nsys.exit(main(sys.argv[1:]))\n')
    run = Background([node, str(ROOT / 'tests' / 'pyodide_node.mjs'), str(dist_dir), str(folder), 'run.py',
                      '--input', 'names.txt', '--steps', str(STEPS), '--samples', '0', '--log', 'log.csv'])

    def get():
        done = run.result()
        assert done.returncode == 0, done.stderr
        return (folder / 'log.csv').read_text(encoding='utf-8')
    yield get
    run.stop()


@pytest.fixture(scope='module')
def site(dist_dir, engine_name):
    """The site on a server of each browser's own (engine_name makes it one per browser): the offline test stops it."""
    import build
    server, url = build.serve_in_background(dist_dir)
    yield {'url': url, 'server': server}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='module')
def tab(engine_name, site, node_log):
    t = start(engine_name)
    print(f'\n{engine_name}: {t.version}')
    yield t
    t.close()


def names_vocabulary(dist_dir):
    """Characters of the names preset, and the end of a word."""
    return len(set((dist_dir / 'data' / 'names.txt').read_text(encoding='utf-8')) - {'\n'}) + 1


class Flow:
    """What every test reads and does, in the tab's words."""

    def __init__(self, tab):
        self.tab = tab

    def ready(self, url=None):
        if url:
            self.tab.goto(url)
        self.waiting(READY, timeout=600, what='Train enabled')  # WebKit's first visit, on a loaded machine
        self.tab.evaluate(CATCH_DOWNLOADS)
        assert self.tab.text('#alert') == '', self.tab.text('#alert')

    def status(self, want, timeout=120):
        self.waiting(STATUS, want, timeout=timeout, what=f'status "{want}"')

    def waiting(self, script, *args, **kwargs):
        try:
            return self.tab.wait(script, *args, **kwargs)
        except AssertionError as e:  # what the page says instead
            said = {s: self.tab.text(s) for s in ('#status', '#alert', '#code-error')}
            raise AssertionError(f'{e}; the page says {said}') from None

    def start_fresh(self):
        """Start fresh where a kept run is offered, once the page has made its fresh model."""
        if self.tab.evaluate("() => !document.querySelector('#resume').hidden"):
            self.tab.click('#resume-no')
            self.tab.wait("() => document.querySelector('#resume').hidden", what='the offer gone')
            self.tab.wait(READY, what='Train enabled')

    def set(self, selector, value):
        self.tab.fill(selector, value)
        assert self.tab.evaluate(VALUE, selector) == str(value)

    def downloaded(self, button, name):
        self.tab.evaluate('() => { window.__downloads = []; }')
        self.tab.click(button)
        return self.tab.wait(DOWNLOADED, name, timeout=60, what=f'{name} downloaded')[1]


def test_ready_trains_on_both_engines_with_samples_chart_and_views(tab, site, node_log, dist_dir):
    flow = Flow(tab)
    flow.ready(site['url'])
    assert tab.evaluate('() => navigator.language') not in ('C', '')
    flow.set('#num_steps', STEPS)
    flow.status(f'step 0 / {STEPS}')
    tab.click('#train')
    flow.status(f'step {STEPS} / {STEPS}')
    assert flow.downloaded('#download', 'microgpt-log') == node_log()  # the same bytes in every browser
    assert tab.evaluate('() => lossChart.size()') == STEPS
    samples = tab.wait("() => [...document.querySelectorAll('#samples li')].map((li) => li.textContent.trim())",
                       what='samples')
    assert all(re.fullmatch(r'[a-z]+|\(empty\)', s) for s in samples), samples  # names' letters
    # the views: next-character bars for a prefix, attention maps of a word (one per head)
    flow.set('#prefix', 'ma')
    tab.wait("() => document.querySelector('#next-note').innerText.includes('After “ma”')", what='bars of "ma"')
    assert tab.evaluate(COUNT, '#next-bars button') == names_vocabulary(dist_dir)  # a bar a character, and "end"
    flow.set('#attention-word', 'marianne')
    tab.click('#show-attention')
    tab.wait(COUNT, '#attention-maps canvas', what='attention maps')
    assert tab.evaluate(COUNT, '#attention-maps canvas') == Config().n_layer * Config().n_head  # one per head
    # the efficient engine continues the same model; Verify finds both engines identical
    assert tab.evaluate(SELECT, '#engine', 'efficient') == 'efficient'
    flow.set('#num_steps', 2 * STEPS)
    flow.status(f'step {STEPS} / {2 * STEPS}')
    tab.click('#train')
    flow.status(f'step {2 * STEPS} / {2 * STEPS}')
    tab.click('#verify')
    said = tab.wait("() => { const t = document.querySelector('#verify-result').innerText;"
                    "  return t.startsWith('Running') ? '' : t; }", what='Verify')
    assert said.startswith('Identical'), said
    assert tab.text('#alert') == ''


def test_edited_code_trains_in_the_sandboxed_worker(tab, node_log):
    flow = Flow(tab)
    assert tab.evaluate(SELECT, '#engine', 'original') == 'original'
    tab.click('#reset')
    flow.status(f'step 0 / {2 * STEPS}')
    flow.set('#num_steps', STEPS)
    tab.click('#code-edit')
    tab.wait("() => !document.querySelector('#code-train').disabled", what='Train with my code')
    tab.evaluate(EDITOR)
    tab.keys('Control+End')
    for line in SQUARED.split('\n')[:-1]:
        tab.type(line)
        tab.keys('Escape', 'Enter')  # Escape: no completion the editor offers is taken (WebKit's is quick to show)
    texts = json.loads(tab.evaluate('() => codeEditor.texts()'))
    assert texts['microgpt/model.py'].endswith(SQUARED)
    tab.click('#code-train')
    flow.status(f'step {STEPS} / {STEPS}', timeout=300)  # the sandboxed worker starts Pyodide first
    assert 'Training with microgpt/model.py' in tab.text('#code-error')
    assert tab.evaluate(COUNT, 'iframe') == 1  # the sandboxed frame runs it
    log = flow.downloaded('#download', 'microgpt-log')
    rows = log.splitlines()
    assert rows[0] == 'step,loss,learning_rate' and len(rows) == STEPS + 1
    assert log != node_log()  # the same run and steps, with the edit: other losses
    tab.click('#code-restore')
    tab.wait("() => codeEditor.changed() === '[]'", what='the original code back')


def test_copy_link_and_the_link_opens_with_its_settings(tab, site):
    flow = Flow(tab)
    tab.evaluate(SELECT, '#dataset', 'pokemon')
    tab.wait("() => document.querySelector('#data-summary').innerText.includes('Pokémon')", what='Pokémon')
    tab.wait("() => !document.querySelector('#engine option[value=efficient]').disabled",
             what='the efficient engine offered (the shipped code is back)')
    assert tab.evaluate(SELECT, '#engine', 'efficient') == 'efficient'
    flow.set('#seed', 5)
    tab.click('#copy-link')
    tab.wait("() => document.querySelector('#copy-result').innerText", what='Copy link says')
    assert re.match('Copied|The browser refused the clipboard', tab.text('#copy-result'))
    link = tab.evaluate(VALUE, '#share-link')
    assert link.startswith(site['url'] + '#') and all(p in link for p in ('seed=5', 'data=pokemon', 'engine=efficient'))
    tab.goto('about:blank')
    flow.ready(link)
    flow.status(f'step 0 / {STEPS}')
    assert [tab.evaluate(VALUE, s) for s in ('#seed', '#num_steps', '#dataset', '#engine')] == \
        ['5', str(STEPS), 'pokemon', 'efficient']


def test_save_model_then_load_model_continues_where_it_stopped(tab):
    flow = Flow(tab)
    flow.start_fresh()  # the earlier tests' run is offered
    tab.click('#train')
    flow.status(f'step {STEPS} / {STEPS}')
    saved = flow.downloaded('#save-model', 'microgpt-step-')
    state = json.loads(saved)
    assert state['step'] == STEPS
    tab.click('#reset')
    flow.status(f'step 0 / {STEPS}')
    tab.evaluate(LOAD_FILE, 'run.json', saved)
    tab.wait("() => document.querySelector('#alert').innerText.includes('Loaded run.json at step 20')",
             what='Loaded')
    flow.status(f'step {STEPS} / {STEPS}')
    assert tab.evaluate('() => lossChart.size()') == STEPS


def test_a_run_resumes_after_a_reload(tab):
    flow = Flow(tab)
    tab.evaluate(SELECT, '#dataset', 'names')  # a preset: a loaded file's words are not in the page's address
    tab.wait("() => document.querySelector('#data-summary').innerText.includes('first names')", what='names')
    flow.set('#num_steps', 10 * STEPS)
    tab.click('#train')
    flow.status(f'step {10 * STEPS} / {10 * STEPS}')
    # autosaved every few seconds while it trains (this tab's run: past the 20 steps its earlier runs reached)
    stored = tab.wait(f'async () => {{ const step = await ({STORED_STEP})(); return step > {STEPS} ? step : 0; }}',
                      timeout=60, what='the autosave')
    tab.reload()
    flow.ready()
    tab.wait("() => !document.querySelector('#resume').hidden", what='the offer to resume')
    offer = re.search(r'from step (\d+) of (\d+)', tab.text('#resume-runs li'))
    step = int(offer.group(1))
    assert stored <= step <= 10 * STEPS and int(offer.group(2)) == 10 * STEPS
    tab.click('#resume-runs li button[data-resume]')
    flow.status(f'step {step} / {10 * STEPS}')
    assert tab.evaluate('() => lossChart.size()') == step


def test_after_one_visit_the_page_opens_and_trains_offline(tab, site):
    flow = Flow(tab)
    tab.wait(OFFLINE_COPY, timeout=120, what='the offline copy')
    site['server'].shutdown()
    site['server'].server_close()
    tab.reload()
    flow.ready()
    flow.start_fresh()
    flow.set('#num_steps', 10)
    flow.status('step 0 / 10')
    tab.click('#train')
    flow.status('step 10 / 10')
