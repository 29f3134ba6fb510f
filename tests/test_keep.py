"""Keep (issue 11): Save model and Load model (the page and the CLI read each other's files and continue
exactly), autosave and the offer to resume after a reload, Restart restoring the last autosave, the offline copy
(a service worker) and the manifest, Save chart.

Byte for byte within one interpreter (the page's Pyodide and Pyodide under Node.js, tests/pyodide_node.mjs);
within 1e-9 across native CPython and Pyodide (test_log.py says why).
"""
import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest
from playwright.sync_api import expect

from conftest import ROOT, pyodide_cli, run_pyodide_cli
from test_log import CLI_FLAGS, STEPS, WORDS, assert_close_logs, native_log
from test_page import LOAD_TIMEOUT, STEP_TIMEOUT, Page, ui  # noqa: F401 - the fixture

import build

SAVED_AT = 5  # the page saves the 15-step run of test_log.py after this many steps
HIDE = """() => {
    Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
    document.dispatchEvent(new Event('visibilitychange'));
}"""  # headless Chromium never hides a tab: the event is dispatched (browser-facts.md)
STORED_STEP = "async () => { const m = await keepStore.meta(); return m ? JSON.parse(m).step : 0; }"
KILL_WORKER = "document.querySelector('script[type=\"py\"][worker]').xworker.terminate()"


@pytest.fixture(autouse=True)
def patient_expect():
    """Messages that come after a run's samples may take longer than expect()'s 5 s on a loaded machine."""
    expect.set_options(timeout=STEP_TIMEOUT)
    yield
    expect.set_options(timeout=5_000)


# -- helpers --------------------------------------------------------------------------------------------------
def words_run(ui, tmp_path):
    """The page on test_log.py's words, seed and steps: a fresh model, no step trained."""
    (tmp_path / 'words.txt').write_text('\n'.join(WORDS) + '\n')
    ui.upload('words.txt', (tmp_path / 'words.txt').read_bytes())
    expect(ui.page.locator('#data-summary')).to_contain_text(f'{len(WORDS)} documents')
    ui.set('Seed', 7)
    ui.fresh(STEPS)


def save_model(ui, path):
    with ui.page.expect_download() as info:
        ui.button('Save model').click()
    info.value.save_as(path)
    return json.loads(path.read_text(encoding='utf-8'))


def load_model(ui, path):
    ui.page.get_by_label('Load model', exact=True).set_input_files(str(path))


def train_to_end(ui, total):
    ui.button('Train').click()
    ui.wait_status(total, total, timeout=300_000)
    expect(ui.status).to_contain_text('done')


def poll(page, script, arg=None, timeout=LOAD_TIMEOUT):
    """Wait until an async page function (wait_for_function does not await promises) answers truthy."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, 'the page never answered true to ' + script
        page.wait_for_timeout(100)


def wait_stored(ui, predicate, timeout=STEP_TIMEOUT):
    """Wait until the autosaved run's step (0: none), read from IndexedDB, satisfies predicate; returns it.
    (wait_for_function does not await a promise: the storage is polled from here.)"""
    deadline = time.monotonic() + timeout / 1000
    while True:
        step = ui.page.evaluate(STORED_STEP)
        if predicate(step):
            return step
        assert time.monotonic() < deadline, f'the stored step stayed {step}'
        ui.page.wait_for_timeout(100)


OPEN_DB = """new Promise((ok, fail) => {
    const r = indexedDB.open('microgpt');
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
})"""
ASKED = "(request) => new Promise((ok) => { request.onsuccess = () => ok(request.result); })"
STORED = """async () => {  // every run in IndexedDB: {id: [step, the state's type]}
    const db = await %s, asked = %s;
    const tx = db.transaction(['meta', 'runs']), metas = tx.objectStore('meta');
    const [ids, meta, states] = await Promise.all(
        [asked(metas.getAllKeys()), asked(metas.getAll()), asked(tx.objectStore('runs').getAll())]);
    db.close();
    const out = {};
    ids.forEach((id, i) => { out[id] = [JSON.parse(meta[i].meta).step, Object.prototype.toString.call(states[i])]; });
    return out;
}""" % (OPEN_DB, ASKED)


def stored_runs(ui):
    return ui.page.evaluate(STORED)


def run_cli_native(cwd, *args):
    out = subprocess.run([sys.executable, '-m', 'microgpt', *map(str, args)], cwd=cwd, capture_output=True,
                         text=True, env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin'}, timeout=300)
    assert out.returncode == 0, out.stderr
    return out


class Opener:
    """A context where Page expects a browser (its own init scripts, e.g. storage refused; `script`: the new
    page's own)."""

    def __init__(self, context, script=''):
        self.context, self.script = context, script

    def new_page(self, **_):
        page = self.context.new_page()
        if self.script:
            page.add_init_script(self.script)
        return page


def chart_points(ui):
    return ui.page.evaluate('lossChart.size()')


# -- Save model and Load model ----------------------------------------------------------------------------
def test_a_saved_model_continues_in_another_page_byte_for_byte(ui, browser, site_url, pyodide_words_log, tmp_path):
    expected = pyodide_words_log()  # the uninterrupted run, Pyodide under Node.js
    words_run(ui, tmp_path)
    ui.step(SAVED_AT)
    data = save_model(ui, tmp_path / 'page.json')
    assert (data['format'], data['version'], data['step'], data['engine']) == ('microgpt-state', 1, SAVED_AT,
                                                                               'original')
    assert data['config']['seed'] == 7 and data['config']['num_steps'] == STEPS
    assert sorted(data['docs']) == sorted(WORDS) and len(data['rng'][1]) == 625
    assert len(data['adam_m']) == len(data['adam_v']) == sum(len(r) * len(r[0]) for r in data['weights'].values())
    assert ''.join(row + '\n' for row in data['log']) == ''.join(expected.splitlines(True)[1:SAVED_AT + 1])

    other = Page(browser, site_url)  # a new visit: its own storage, the default dataset and settings
    try:
        load_model(other, tmp_path / 'page.json')
        other.wait_status(SAVED_AT, STEPS)
        expect(other.alert).to_contain_text('Loaded page.json at step 5')
        expect(other.field('Seed')).to_have_value('7')
        expect(other.page.locator('#data-summary')).to_contain_text(f'{len(WORDS)} documents')
        expect(other.page.locator('#samples li')).to_have_count(8)
        assert chart_points(other) == SAVED_AT  # the chart came back with the log
        train_to_end(other, STEPS)
        assert other.download_log(tmp_path) == expected
        assert other.errors == [] and other.outside == []
        address = other.page.url  # the loaded run's documents travel in its link (they were "custom", a warning)
    finally:
        other.close()
    assert '&data=z:' in address or '#data=z:' in address
    third = Page(browser, address)
    try:
        expect(third.page.locator('#data-summary')).to_contain_text(f'{len(WORDS)} documents')
        expect(third.field('Seed')).to_have_value('7')
        assert 'not a dataset' not in third.alert.inner_text() and third.errors == []
    finally:
        third.close()


def test_a_temperature_set_after_training_is_saved_and_loaded_back(ui, tmp_path):
    """The settings that keep the model reach the worker's: Save model writes the temperature set after
    training, and Load model (as Resume) puts it back in the form."""
    ui.step(1)
    ui.set('Temperature', 0.9)  # the model is kept
    data = save_model(ui, tmp_path / 'warm.json')
    assert (data['step'], data['config']['temperature']) == (1, 0.9)
    ui.set('Temperature', 0.7)
    ui.answer_dialogs = True  # "discard the 1 step trained so far?": yes
    load_model(ui, tmp_path / 'warm.json')
    expect(ui.alert).to_contain_text('Loaded warm.json at step 1')
    expect(ui.field('Temperature')).to_have_value('0.9')
    assert ui.errors == []


def test_the_page_and_the_cli_continue_each_others_files(ui, dist_dir, pyodide_words_log, tmp_path):
    native_whole = native_log(tmp_path)
    pyodide_saved = pyodide_cli(dist_dir, tmp_path, '--input', 'words.txt', *CLI_FLAGS, '--stop-at', SAVED_AT,
                                '--save', 'pyodide.json')  # in the background, while the page trains
    pyodide_whole = pyodide_words_log()
    words_run(ui, tmp_path)
    ui.step(SAVED_AT)
    save_model(ui, tmp_path / 'page.json')
    # the page's file, continued by the CLI: natively within 1e-9, under Pyodide byte for byte
    run_cli_native(tmp_path, '--load', 'page.json', '--samples', 0, '--log', 'native_cont.csv')
    assert_close_logs((tmp_path / 'native_cont.csv').read_text(), native_whole)
    run_pyodide_cli(dist_dir, tmp_path, '--load', 'page.json', '--samples', 0, '--log', 'pyodide_cont.csv')
    assert (tmp_path / 'pyodide_cont.csv').read_text() == pyodide_whole
    # the CLI's files, continued by the page: a native one within 1e-9, a Pyodide one byte for byte
    run_cli_native(tmp_path, '--input', 'words.txt', *CLI_FLAGS, '--stop-at', SAVED_AT, '--save', 'native.json')
    pyodide_saved.succeeded()
    ui.answer_dialogs = True  # "discard the 5 steps trained so far?": yes
    for name, whole, exact in (('native.json', native_whole, False), ('pyodide.json', pyodide_whole, True)):
        load_model(ui, tmp_path / name)
        expect(ui.alert).to_contain_text(f'Loaded {name} at step {SAVED_AT}')
        ui.wait_status(SAVED_AT, STEPS)
        train_to_end(ui, STEPS)
        log = ui.download_log(tmp_path)
        assert log.splitlines()[:SAVED_AT + 1] == whole.splitlines()[:SAVED_AT + 1]  # the CLI's own rows
        if exact:
            assert log == whole
        else:
            assert_close_logs(log, whole)
    assert ui.errors == []


def test_a_version_1_file_without_a_log_continues_in_the_page(ui, tmp_path):
    """tests/golden/state_v1.json (the CLI's file from before the format moved, no log): the page continues it;
    its log then starts after the saved steps, within 1e-9 of the native uninterrupted run's rows."""
    from test_state import V1_CONFIG, V1_WORDS, uninterrupted_v1
    golden = ROOT / 'tests' / 'golden' / 'state_v1.json'
    assert 'log' not in json.loads(golden.read_text(encoding='utf-8'))
    load_model(ui, golden)
    ui.wait_status(10, V1_CONFIG.num_steps)
    expect(ui.alert).to_contain_text('Loaded state_v1.json at step 10')
    assert chart_points(ui) == 0  # no log, no points before step 11
    train_to_end(ui, V1_CONFIG.num_steps)
    rows = ui.download_log(tmp_path).splitlines()
    _, results = uninterrupted_v1()
    assert rows[0] == 'step,loss,learning_rate' and len(rows) == 21 and len(V1_WORDS) == 10
    for row, result in zip(rows[1:], results[10:]):
        step, loss, lr = row.split(',')
        assert int(step) == result.step and float(lr) == result.learning_rate
        assert float(loss) == pytest.approx(result.loss, rel=1e-9)
    assert ui.errors == []


def test_damaged_foreign_and_newer_files_are_refused_and_the_model_stays(ui, tmp_path):
    ui.fresh(20)
    ui.step(2)
    good = save_model(ui, tmp_path / 'good.json')
    text = (tmp_path / 'good.json').read_text(encoding='utf-8')
    ui.step()
    cases = {
        'truncated.json': (text[:len(text) // 2], 'truncated.json: not a JSON state'),
        'words.json': ('anna\nbob\n', 'words.json: not a JSON state'),
        'latin1.json': (b'{"format": "\xe9"}', 'latin1.json: not a JSON state (not UTF-8'),
        'foreign.json': (json.dumps({'n_embd': 16}), 'foreign.json: not a microgpt state'),
        'newer.json': (json.dumps({**good, 'version': 2}), 'state version 2: the file is from a newer microgpt'),
        'weights.json': (json.dumps({**good, 'weights': {**good['weights'], 'wte': [[0.5]]}}), 'wte should be'),
        'log.json': (json.dumps({**good, 'log': good['log'][:1]}), 'the log should have one row per step'),
    }
    ui.answer_dialogs = True
    for name, (content, words) in cases.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode('utf-8'))
        load_model(ui, tmp_path / name)
        expect(ui.alert).to_contain_text(words)
        expect(ui.alert).to_contain_text('The current model is kept.')
        assert ui.step_numbers() == (3, 20)
    ui.step()  # the model trains on
    assert len(ui.download_log(tmp_path).splitlines()) == 5
    assert ui.errors == []


LONG_TASKS = """
window.__longest = 0;
new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
}).observe({ type: "longtask", buffered: true });
"""


def test_the_largest_model_loads_without_freezing_the_page(ui, tmp_path):
    """The largest model the settings admit at full width (n_embd 128, block 7: the step-values cap) on the
    names: the file travels as a blob: URL to the worker, which parses it; the page's main thread stays free."""
    from microgpt import Config, Trainer, read_documents, state
    config = Config(n_embd=128, n_head=4, n_layer=1, block_size=7, num_steps=50).validate()
    trainer = Trainer(config, read_documents(ROOT / 'dist' / 'data' / 'names.txt'))
    state.save(trainer, tmp_path / 'large.json', log=[])
    size = (tmp_path / 'large.json').stat().st_size
    assert size > 4_000_000 and trainer.num_params > 200_000
    ui.page.evaluate(LONG_TASKS)
    ui.page.evaluate('window.__longest = 0')
    load_model(ui, tmp_path / 'large.json')
    ui.wait_status(0, 50, timeout=120_000)
    expect(ui.alert).to_contain_text('Loaded large.json at step 0', timeout=120_000)  # after its samples
    expect(ui.page.locator('#params')).to_have_text(f'{trainer.num_params:,}')
    expect(ui.field('Embedding size')).to_have_value('128')
    longest = ui.page.evaluate('window.__longest')
    assert longest < 1000, f'the main thread was busy for {longest:.0f} ms at once'
    with ui.page.expect_download() as info:  # and saved again, the same run
        ui.button('Save model').click()
    info.value.save_as(tmp_path / 'again.json')
    again = json.loads((tmp_path / 'again.json').read_text(encoding='utf-8'))
    assert again == json.loads((tmp_path / 'large.json').read_text(encoding='utf-8'))
    assert ui.errors == []


# -- autosave and resume ----------------------------------------------------------------------------------
def test_a_run_interrupted_by_a_reload_resumes_and_logs_the_same_bytes(ui, dist_dir, tmp_path):
    steps = 150
    shutil.copy(dist_dir / 'data' / 'names.txt', tmp_path / 'names.txt')
    whole = pyodide_cli(dist_dir, tmp_path, '--input', 'names.txt', '--steps', steps, '--samples', 0,
                        '--log', 'whole.csv')  # in the background, while the page trains
    ui.fresh(steps)
    ui.button('Train').click()
    stored = wait_stored(ui, lambda step: step > 0, timeout=120_000)  # autosaved while training
    ui.page.reload()  # mid-training: what was trained after the autosave is lost, and trained again
    ui.wait_enabled('Train')
    offer = ui.page.get_by_role('group', name=re.compile('Resume a run kept in this browser'))
    expect(offer).to_contain_text(re.compile(rf'The run from step (\d+) of {steps} \(Names \(English first names\); '
                                             rf'.*Steps {steps}.*original engine\), saved just now'))
    at = int(re.search(r'from step (\d+)', offer.inner_text()).group(1))
    assert at >= stored and at < steps
    ui.button('Resume').click()
    ui.wait_status(at, steps)
    expect(offer).to_be_hidden()
    expect(ui.page.locator('#samples li')).to_have_count(8, timeout=STEP_TIMEOUT)  # after the status
    assert chart_points(ui) == at
    train_to_end(ui, steps)
    whole.succeeded()
    assert ui.download_log(tmp_path) == (tmp_path / 'whole.csv').read_text()
    assert ui.errors == []


def test_a_hidden_tab_saves_the_run_start_fresh_keeps_it_and_discard_forgets_it(ui):
    ui.fresh(20)
    ui.step(3)
    ui.page.evaluate(HIDE)
    assert wait_stored(ui, lambda step: step == 3) == 3
    for _ in range(2):  # Start fresh leaves the run kept: it is offered again
        ui.page.reload()
        ui.wait_enabled('Train')
        expect(ui.page.get_by_role('group', name=re.compile('Resume a run'))).to_contain_text('from step 3 of 20 (')
        ui.button('Start fresh').click()
        expect(ui.button('Resume')).to_be_hidden()
        ui.wait_status(0, 20)  # the fresh model of the page's settings (kept in its URL)
    ui.page.reload()
    ui.wait_enabled('Train')
    ui.button('Discard').click()
    expect(ui.page.locator('#resume')).to_be_hidden()
    ui.page.reload()
    ui.wait_enabled('Train')
    assert stored_runs(ui) == {}
    assert not ui.button('Resume').is_visible() and not ui.button('Start fresh').is_visible()


def test_refused_storage_gives_a_message_and_training_carries_on(browser, site_url):
    refuse = """
        IDBFactory.prototype.open = function () { throw new DOMException('storage refused (test)', 'SecurityError'); };
    """
    context = browser.new_context(viewport={'width': 1366, 'height': 900})
    context.add_init_script(refuse)
    p = Page(Opener(context), site_url)
    try:
        # said at start-up (issue 20: no step of start-up fails silently), not only at the first autosave
        expect(p.alert).to_contain_text('Autosave is off: the browser refuses to store the run')
        expect(p.alert).to_contain_text('storage refused (test)')
        expect(p.status).to_contain_text('ready: press Train')
        p.fresh(80)
        p.button('Train').click()
        expect(p.status).to_contain_text('training')
        p.wait_status(80, 80, timeout=300_000)
        # PyScript's core opens an IndexedDB store of its own at start-up and leaves the refusal uncaught
        # (one page error with this message); the page's own use of storage reports nothing more
        assert set(p.errors) <= {'storage refused (test)'} and len(p.errors) <= 1, p.errors
        assert not p.button('Resume').is_visible()
    finally:
        p.close()
        context.close()


def test_restart_after_a_gone_worker_restores_the_last_autosave(ui):
    ui.fresh(100000)
    ui.button('Train').click()
    wait_stored(ui, lambda step: step > 0, timeout=120_000)
    ui.button('Pause').click()
    expect(ui.status).to_contain_text('paused')
    paused = ui.step_numbers()[0]
    wait_stored(ui, lambda step: step == paused)  # Pause saves the run
    ui.page.evaluate(KILL_WORKER)
    ui.button('Step').click()
    expect(ui.status).to_contain_text('The Python worker is gone', timeout=LOAD_TIMEOUT)
    ui.button('Restart').click()
    ui.wait_enabled('Train')
    expect(ui.alert).to_contain_text(f'restored from its last autosave ({paused:,} steps)')
    ui.wait_status(paused, 100000)
    ui.step()


# -- one run per tab (issue 18, item 7), bytes in storage (issue 20, item 3) ------------------------------
TAB_ID = 'keepStore.tab'
OFFERED = '#resume-runs li'


def autosave_at(p, steps):
    """Hide the tab (the run is saved) and wait until its stored step is `steps`."""
    p.page.evaluate(HIDE)
    wait_stored(p, lambda step: step == steps)


def test_each_tab_keeps_its_own_run_and_restart_restores_the_tabs_own(browser, site_url):
    context = browser.new_context(viewport={'width': 1366, 'height': 900})
    a, b = Page(Opener(context), site_url), Page(Opener(context), site_url)
    try:
        a.fresh(20)
        a.step(3)
        autosave_at(a, 3)
        b.fresh(30)
        b.step(5)
        autosave_at(b, 5)
        tab_a, tab_b = a.page.evaluate(TAB_ID), b.page.evaluate(TAB_ID)
        assert tab_a != tab_b
        assert stored_runs(a) == {tab_a: [3, '[object Uint8Array]'], tab_b: [5, '[object Uint8Array]']}
        # a tab duplicated (its sessionStorage copied): an id of its own, not the open tab's
        c = Page(Opener(context, "sessionStorage.setItem('microgpt-tab', %s)" % json.dumps(tab_a)), site_url)
        assert c.page.evaluate(TAB_ID) not in (tab_a, tab_b)
        expect(c.page.locator('#resume')).to_be_hidden()  # the runs of open tabs are theirs
        c.step()
        autosave_at(c, 1)
        c.close()
        # Restart in A brings back A's run, not B's (saved later)
        a.page.evaluate(KILL_WORKER)
        a.button('Step').click()
        expect(a.status).to_contain_text('The Python worker is gone', timeout=LOAD_TIMEOUT)
        a.button('Restart').click()
        expect(a.alert).to_contain_text('restored from its last autosave (3 steps)', timeout=LOAD_TIMEOUT)
        a.wait_status(3, 20)
        # B reloaded: its own run is offered, with the closed tab C's; A's (open) is not
        b.page.reload()
        b.wait_enabled('Train')
        assert b.page.evaluate(TAB_ID) == tab_b  # the tab's id survives its reloads
        offered = b.page.locator(OFFERED)
        expect(offered).to_have_count(2)
        assert 'step 1 of 1000' in offered.nth(0).inner_text() and 'step 5 of 30' in offered.nth(1).inner_text()
        # A closed: B reloaded offers its runs too, newest first
        a.close()
        b.page.reload()
        b.wait_enabled('Train')
        expect(offered).to_have_count(3)
        texts = offered.all_inner_texts()
        assert ['step 1 of 1000' in texts[0], 'step 5 of 30' in texts[1], 'step 3 of 20' in texts[2]] == [True] * 3
        offered.nth(2).get_by_role('button', name='Resume').click()  # A's run, resumed in B: B's own now
        b.wait_status(3, 20)
        expect(b.alert).to_contain_text('Resumed the run at step 3', timeout=STEP_TIMEOUT)  # after its samples
        assert sorted(step for step, _ in stored_runs(b).values()) == [1, 3, 5]
        assert stored_runs(b)[tab_b][0] == 3
        b.step()
        autosave_at(b, 4)
        assert sorted(step for step, _ in stored_runs(b).values()) == [1, 4, 5]
        assert b.errors == []
    finally:
        for p in (a, b):
            if not p.page.is_closed():
                p.close()
        context.close()


FAKE_RUNS = """async (n) => {  // n runs of closed tabs, saved at 1..n ms (long ago), step 1 each
    const db = await %s;
    const tx = db.transaction(['meta', 'runs'], 'readwrite');
    for (let i = 1; i <= n; i++) {
        const meta = JSON.stringify({step: 1, num_steps: 9, summary: 'fake ' + i});
        tx.objectStore('meta').put({meta, saved: i}, 'tab-fake-' + i);
        tx.objectStore('runs').put(new Uint8Array([123, 125]), 'tab-fake-' + i);
    }
    await new Promise((ok) => { tx.oncomplete = ok; });
    db.close();
}""" % OPEN_DB


def test_an_autosave_keeps_the_newest_five_runs_of_closed_tabs(ui):
    ui.fresh(20)
    ui.step()
    autosave_at(ui, 1)
    ui.page.evaluate(FAKE_RUNS, 7)
    ui.step()
    autosave_at(ui, 2)
    own = ui.page.evaluate(TAB_ID)
    assert sorted(stored_runs(ui)) == sorted([own] + ['tab-fake-%d' % i for i in range(3, 8)])


REFUSE_BLOBS = """
const put = IDBObjectStore.prototype.put;
IDBObjectStore.prototype.put = function (value, key) {  // as private WebKit does
    if (value instanceof Blob || (value && value.state instanceof Blob))
        throw new DOMException('Error preparing Blob/File data to be stored in object store', 'UnknownError');
    return put.call(this, value, key);
};
"""


def test_the_run_is_stored_as_bytes_and_resumes_where_blobs_are_refused(browser, site_url):
    context = browser.new_context(viewport={'width': 1366, 'height': 900})
    context.add_init_script(REFUSE_BLOBS)
    p = Page(Opener(context), site_url)
    try:
        p.fresh(20)
        p.step(3)
        autosave_at(p, 3)
        stored = p.page.evaluate("""async (id) => {
            const db = await %s, asked = %s;
            const state = await asked(db.transaction('runs').objectStore('runs').get(id));
            db.close();
            return [Object.prototype.toString.call(state), JSON.parse(new TextDecoder().decode(state)).step];
        }""" % (OPEN_DB, ASKED), p.page.evaluate(TAB_ID))
        assert stored == ['[object Uint8Array]', 3]
        p.page.reload()
        p.wait_enabled('Train')
        p.button('Resume').click()
        p.wait_status(3, 20)
        p.step()
        assert 'Autosave is off' not in p.alert.inner_text()
        assert p.errors == []
    finally:
        p.close()
        context.close()


MAKE_VERSION_1 = """async ([meta, text]) => {  // the single autosave of before: one record {meta, state: Blob, saved}
    await new Promise((ok, fail) => {
        const r = indexedDB.deleteDatabase('microgpt');
        r.onsuccess = ok;
        r.onerror = fail;
    });
    const db = await new Promise((ok) => {
        const r = indexedDB.open('microgpt', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('runs');
        r.onsuccess = () => ok(r.result);
    });
    const tx = db.transaction('runs', 'readwrite');
    const state = new Blob([text], {type: 'application/json'});
    tx.objectStore('runs').put({meta, state, saved: Date.now()}, 'latest');
    await new Promise((ok) => { tx.oncomplete = ok; });
    db.close();
}"""


def test_the_single_autosave_of_before_is_offered_and_resumes(ui, tmp_path):
    ui.fresh(20)
    ui.step(3)
    data = save_model(ui, tmp_path / 'run.json')
    meta = json.dumps({'step': 3, 'num_steps': 20, 'engine': 'original', 'config': data['config'],
                       'source': 'Names', 'summary': 'the old summary'})
    ui.page.evaluate(MAKE_VERSION_1, [meta, (tmp_path / 'run.json').read_text(encoding='utf-8')])
    ui.page.reload()
    ui.wait_enabled('Train')
    expect(ui.page.locator(OFFERED)).to_have_text(re.compile(r'The run from step 3 of 20 \(the old summary\)'))
    ui.button('Resume').click()
    ui.wait_status(3, 20)
    ui.step()
    assert ui.errors == []


# -- offline, the manifest ---------------------------------------------------------------------------------
OFFLINE_COPIES = "caches.keys().then(keys => keys.filter(key => /^microgpt-[0-9a-f]{16}$/.test(key)))"


def wait_offline_copy(page):
    """Until the service worker controls the page and its cache holds every file."""
    poll(page, """async () => {
        const reg = await navigator.serviceWorker.ready;
        if (!navigator.serviceWorker.controller || !reg.active) return false;
        const keys = (await caches.keys()).filter((key) => /^microgpt-[0-9a-f]{16}$/.test(key));
        if (keys.length !== 1) return false;
        const cache = await caches.open(keys[0]);
        return (await cache.keys()).length > 50;
    }""")


def test_after_one_visit_the_page_opens_and_trains_offline(ui):
    wait_offline_copy(ui.page)
    ui.page.context.set_offline(True)
    ui.page.reload()
    ui.wait_enabled('Train')
    expect(ui.page.locator('#data-summary')).to_contain_text('8,403 documents')
    ui.fresh(20)
    train_to_end(ui, 20)
    assert ui.errors == []


def test_a_new_build_replaces_the_offline_copy(browser, dist_dir, tmp_path):
    site = tmp_path / 'site'
    shutil.copytree(dist_dir, site)
    server = build.make_server(site, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = 'http://127.0.0.1:%d/' % server.server_address[1]
    p = Page(browser, url)
    try:
        wait_offline_copy(p.page)
        old_cache = p.page.evaluate(OFFLINE_COPIES)[0]
        css = site / 'style.css'
        css.write_text(css.read_text() + '\n.new-build-marker { color: red; }\n')
        build.write_service_worker(site)  # what `python build.py` does last: a new hash, a new sw.js
        p.page.reload()
        p.wait_enabled('Train')
        assert 'new-build-marker' in p.page.evaluate("fetch('./style.css').then(r => r.text())")
        poll(p.page, """async old => {
            const keys = (await caches.keys()).filter((key) => /^microgpt-[0-9a-f]{16}$/.test(key));
            if (keys.length !== 1 || keys[0] === old) return false;
            const cached = await (await caches.open(keys[0])).match('./style.css');
            return cached && (await cached.text()).includes('new-build-marker');
        }""", old_cache)
        p.page.context.set_offline(True)
        p.page.reload()
        p.wait_enabled('Train')
        assert 'new-build-marker' in p.page.evaluate("fetch('./style.css').then(r => r.text())")
    finally:
        p.close()
        server.shutdown()
        server.server_close()


def test_the_manifest_and_its_icons_make_it_installable(ui):
    href = ui.page.locator('link[rel="manifest"]').get_attribute('href')
    manifest = ui.page.evaluate('h => fetch(h).then(r => r.json())', href)
    assert manifest['name'] and manifest['short_name'] == 'microgpt' and manifest['display'] == 'standalone'
    assert manifest['start_url'] == './'
    for icon in manifest['icons']:
        status = ui.page.evaluate('s => fetch(s).then(r => r.status + " " + r.headers.get("content-type"))',
                                  icon['src'])
        assert status == '200 image/svg+xml', icon


# -- Save chart -----------------------------------------------------------------------------------------------
def test_save_chart_downloads_the_loss_chart_as_a_png(ui, tmp_path):
    ui.fresh(20)
    ui.step(3)
    with ui.page.expect_download() as info:
        ui.button('Save chart').click()
    path = tmp_path / 'chart.png'
    info.value.save_as(path)
    png = path.read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and png[12:16] == b'IHDR'
    width, height = int.from_bytes(png[16:20], 'big'), int.from_bytes(png[20:24], 'big')
    canvas = ui.page.evaluate("(() => { const c = document.querySelector('#chart canvas'); return [c.width, c.height]; })()")
    assert [width, height] == canvas and width > 200
    assert info.value.suggested_filename.endswith('.png')
    assert ui.errors == []


def service_worker_of(site):
    """(the offline copy's cache name, the manifest: {"./path": SHA-256 hex}) of a built site's sw.js."""
    text = (site / 'sw.js').read_text(encoding='utf-8')
    cache = re.search(r'const CACHE = "([^"]+)";', text).group(1)
    manifest = json.loads(re.search(r'const MANIFEST = (\{.*?\});', text, re.S).group(1))
    return cache, manifest


def test_the_service_worker_caches_every_file_under_a_name_from_their_contents(dist_dir, tmp_path):
    site = tmp_path / 'site'
    shutil.copytree(dist_dir, site)
    cache, manifest = service_worker_of(site)
    on_disk = sorted('./' + p.relative_to(site).as_posix() for p in site.rglob('*') if p.is_file())
    assert list(manifest) == ['./'] + [f for f in on_disk if f != './sw.js']
    assert {'./index.html', './manifest.webmanifest', './pyodide/pyodide.asm.wasm', './py/microgpt/state.py',
            './data/names.txt', './keep.py', './start_pyodide.mjs'} <= set(manifest)
    for file, digest in manifest.items():  # the build's hash of every file's bytes (the page: index.html's)
        assert digest == hashlib.sha256((site / (file[2:] or 'index.html')).read_bytes()).hexdigest(), file
    names = site / 'data' / 'names.txt'
    original = names.read_bytes()
    names.write_bytes(original + b'zed\n')
    build.write_service_worker(site)
    changed, changed_manifest = service_worker_of(site)
    assert changed_manifest['./data/names.txt'] == hashlib.sha256(original + b'zed\n').hexdigest()
    names.write_bytes(original)
    build.write_service_worker(site)
    assert changed != cache and service_worker_of(site)[0] == cache  # named by content, nothing else


# a copy of a file in the offline copy's cache replaced by other bytes, as a script with the site's rights could
PLANT = """async ([file, prefix]) => {
    const [key] = (await caches.keys()).filter((k) => /^microgpt-[0-9a-f]{16}$/.test(k));
    const cache = await caches.open(key);
    const genuine = await cache.match(file);
    const text = prefix + await genuine.text();
    await cache.put(file, new Response(text, { headers: genuine.headers }));
    return (await (await cache.match(file)).text()).startsWith(prefix);
}"""
CACHED_TEXT = """async (file) => {
    const [key] = (await caches.keys()).filter((k) => /^microgpt-[0-9a-f]{16}$/.test(k));
    const hit = await (await caches.open(key)).match(file);
    return hit ? await hit.text() : null;
}"""
PLANTED = 'globalThis.plantedByATest = true;\n'


def test_planted_bytes_in_the_offline_copy_are_never_served_and_are_replaced(browser, site_url, dist_dir):
    genuine = (dist_dir / 'pyscript' / 'core.js').read_text(encoding='utf-8')
    p = Page(browser, site_url)
    try:
        wait_offline_copy(p.page)
        # PyScript's core (a runtime file: served from the cache first), changed in the cache
        assert p.page.evaluate(PLANT, ['./pyscript/core.js', PLANTED])
        p.page.reload()
        p.wait_enabled('Train')
        assert p.page.evaluate('globalThis.plantedByATest') is None  # the planted script never ran
        assert p.page.evaluate("fetch('./pyscript/core.js').then(r => r.text())") == genuine
        poll(p.page, 'async () => (await (' + CACHED_TEXT + ')("./pyscript/core.js")) === ' + json.dumps(genuine))
        assert p.errors == []
        # offline, a planted copy is refused rather than served (a site file: from the network first)
        assert p.page.evaluate(PLANT, ['./data/cats.txt', 'planted\n'])
        p.page.context.set_offline(True)
        served = p.page.evaluate("fetch('./data/cats.txt').then(r => r.text(), e => 'refused: ' + e.message)")
        assert served.startswith('refused: ') and 'planted' not in served
        assert p.page.evaluate(CACHED_TEXT, './data/cats.txt') is None  # deleted: fetched again once online
        p.page.context.set_offline(False)
        assert p.page.evaluate("fetch('./data/cats.txt').then(r => r.text())") == \
            (dist_dir / 'data' / 'cats.txt').read_text(encoding='utf-8')
        poll(p.page, 'async () => (await (' + CACHED_TEXT + ')("./data/cats.txt")) !== null')
    finally:
        p.close()
