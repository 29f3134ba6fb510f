"""The Code panel (issue 12, "The code, live"): the engine's files in an editor, edited and trained in the page.

An edit trains in the page exactly as the same edited files do under Pyodide in Node.js (a copy of the package
with the edited file in place, tests/pyodide_node.mjs), byte for byte; a reverted edit is the original engine.
Broken edits say the file, line and message the engine says natively (tests/test_edits.py checks those against
the edits themselves), the editor marks the line, and the model is kept. A runaway edit is ended by the step
time limit and by Stop, and a fresh worker takes over. Edits are pasted into the editor (a paste event, as a
student pastes code), found by its accessible name: the file's path.
"""
import json
import re
import shutil

import pytest
from playwright.sync_api import expect

import microgpt as mg
from conftest import ROOT, pyodide_cli
from microgpt.edits import CodeError, EditedCode, original_sources
from test_edits import BROKEN, DOCS, SQUARED_RELU, config, edit
from test_log import CLI_FLAGS, STEPS, WORDS
from test_page import LOAD_TIMEOUT, STEP_TIMEOUT, Page

MODEL, AUTOGRAD = 'microgpt/model.py', 'microgpt/autograd.py'
PASTE = '''(box, text) => { const data = new DataTransfer(); data.setData('text/plain', text);
  box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true})); }'''
CSP_LISTENER = '''document.addEventListener('securitypolicyviolation', e => {
  (window.__cspViolations = window.__cspViolations || []).push(`${e.effectiveDirective} ${e.blockedURI}`); }, true);'''


class CodePage(Page):
    """The page, and its Code panel by accessible names."""

    def __init__(self, browser, url):
        super().__init__(browser, url)
        self.answer_dialogs = True  # "discard the steps trained so far?": yes

    @property
    def code(self):
        return self.page.get_by_role('region', name='Code')

    def code_button(self, name):
        return self.code.get_by_role('button', name=name, exact=True)

    def editor(self, path):
        self.code.get_by_role('tab', name=path).click()
        return self.code.get_by_role('textbox', name=path)

    def texts(self):
        return json.loads(self.page.evaluate('codeEditor.texts()'))

    def paste(self, path, text):
        """Select all of a file in the editor and paste `text` over it."""
        box = self.editor(path)
        box.click()
        self.page.keyboard.press('Control+a')
        box.evaluate(PASTE, text)
        assert self.texts()[path] == text

    def wait_text(self, path, text):
        """Wait until the editor holds this text for a file (it follows a loaded run a moment later)."""
        self.page.wait_for_function('([path, text]) => JSON.parse(codeEditor.texts())[path] === text', arg=[path, text],
                                    timeout=STEP_TIMEOUT)

    def message(self):
        return self.page.locator('#code-error')

    def train_with_code(self):
        self.code_button('Train with my code').click()


@pytest.fixture
def cp(browser, site_url):
    p = CodePage(browser, site_url)
    yield p
    p.close()


def words_run(cp, tmp_path):
    """test_log.py's words, seed and steps."""
    cp.upload('words.txt', ('\n'.join(WORDS) + '\n').encode())
    expect(cp.page.locator('#data-summary')).to_contain_text(f'{len(WORDS)} documents')
    cp.set('Seed', 7)
    cp.fresh(STEPS)


def squared_relu():
    sources, _ = edit(MODEL, *SQUARED_RELU)
    return sources[MODEL]


# -- the Pyodide-in-Node.js oracle ---------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def node_logs(dist_dir, tmp_path_factory, pyodide_words_log):
    """The 15-step words run of test_log.py under Pyodide in Node.js: 'original' with the package dist/ serves
    (conftest's, the session's one run), 'squared relu' with a copy of it whose model.py has the edit (started now,
    in the background)."""
    folder = tmp_path_factory.mktemp('squared_relu')
    (folder / 'words.txt').write_text('\n'.join(WORDS) + '\n')
    package = folder / 'package'
    shutil.copytree(dist_dir / 'py' / 'microgpt', package)
    (package / MODEL.split('/', 1)[1]).write_text(squared_relu(), encoding='utf-8')
    run = pyodide_cli(dist_dir, folder, '--input', 'words.txt', '--log', 'log.csv', *CLI_FLAGS, package=package)

    def get(name):
        if name == 'original':
            return pyodide_words_log()
        run.succeeded()
        return (folder / 'log.csv').read_text()
    yield get
    run.stop()


# -- the panel ----------------------------------------------------------------------------------------------------
class _Listening:
    """The browser, but its pages report Content-Security-Policy violations."""

    def __init__(self, browser):
        self.browser = browser

    def new_page(self, **options):
        page = self.browser.new_page(**options)
        page.add_init_script(CSP_LISTENER)
        return page


def test_the_panel_shows_the_shipped_files_read_only_until_edit(browser, site_url):
    cp = CodePage(_Listening(browser), site_url)  # the editor's styles go through the CSSOM: the policy holds
    page = cp.page
    shipped = original_sources()
    expect(cp.code.get_by_role('tab')).to_have_text([MODEL, AUTOGRAD])  # gpt() first; loaded after Train is enabled
    assert cp.texts() == shipped == {p: (ROOT / p).read_text(encoding='utf-8') for p in (MODEL, AUTOGRAD)}
    box = cp.editor(MODEL)
    expect(box).to_have_attribute('aria-readonly', 'true')
    expect(box).to_contain_text('def init_weights(config, vocab_size, rng):')
    box.click()
    page.keyboard.type('junk')
    assert cp.texts() == shipped  # read-only: typing changes nothing
    for name in ('Train with my code', 'Restore original', 'Stop'):
        expect(cp.code_button(name)).to_be_disabled()
    cp.code_button('Edit').click()
    expect(box).to_have_attribute('contenteditable', 'true')
    expect(cp.code_button('Edit')).to_be_disabled()
    expect(cp.code_button('Train with my code')).to_be_enabled()
    box.click()
    page.keyboard.press('Control+Home')
    page.keyboard.type('# mine\n')
    assert cp.texts()[MODEL] == '# mine\n' + shipped[MODEL]
    expect(cp.code_button('Restore original')).to_be_enabled()
    efficient = page.locator('#engine option[value="efficient"]')
    expect(efficient).to_be_disabled()  # with a one-line reason
    expect(page.locator('#engine-code-note')).to_have_text(re.compile(r'efficient engine cannot run edited code'))
    cp.code.get_by_text('What changed').click()
    expect(page.get_by_label('Changes against the original code')).to_contain_text('+# mine')
    cp.code_button('Restore original').click()
    cp.wait_text(MODEL, shipped[MODEL])  # the page's handler runs as a task: a moment later
    assert cp.texts() == shipped
    expect(box).to_have_attribute('aria-readonly', 'true')
    expect(efficient).to_be_enabled()
    expect(page.locator('#engine-code-note')).to_be_hidden()
    assert page.evaluate('window.__cspViolations || []') == [] and cp.errors == []
    cp.close()


# -- an edit trains as the edited files do -------------------------------------------------------------------------
def test_squared_relu_trains_in_the_page_as_the_edited_files_do_under_pyodide(cp, node_logs, tmp_path):
    words_run(cp, tmp_path)
    cp.code_button('Edit').click()
    cp.paste(MODEL, squared_relu())
    cp.train_with_code()
    cp.wait_status(STEPS, STEPS, timeout=120_000)
    expect(cp.message()).to_contain_text('Training with microgpt/model.py')
    log = cp.download_log(tmp_path)
    assert log == node_logs('squared relu')
    assert log != node_logs('original')
    expect(cp.page.locator('#engine')).to_have_value('original')
    expect(cp.page.locator('#engine option[value="efficient"]')).to_be_disabled()
    cp.button('Verify').click()  # against the unedited code: the edit changes the arithmetic
    expect(cp.page.locator('#verify-result')).to_have_text(
        re.compile(r'^Different: your code and the original code disagree on losses and parameters'),
        timeout=STEP_TIMEOUT)
    cp.code.get_by_text('What changed').click()
    diff = cp.page.get_by_label('Changes against the original code')
    expect(diff).to_contain_text('-        x = [xi.relu() for xi in x]')
    expect(diff).to_contain_text('+        x = [xi.relu() ** 2 for xi in x]')


def test_an_edit_made_and_reverted_trains_the_original_bytes(cp, node_logs, tmp_path):
    words_run(cp, tmp_path)
    cp.code_button('Edit').click()
    cp.paste(MODEL, squared_relu())
    cp.paste(MODEL, original_sources()[MODEL])  # the same edit undone
    cp.train_with_code()
    cp.wait_status(STEPS, STEPS, timeout=120_000)
    expect(cp.message()).to_contain_text('the original code (nothing is changed)')
    assert cp.download_log(tmp_path) == node_logs('original')
    cp.button('Verify').click()  # the original code: both engines, as always
    expect(cp.page.locator('#verify-result')).to_have_text(re.compile(r'^Identical: .* on both engines'),
                                                           timeout=STEP_TIMEOUT)


# -- broken edits: file, line, message; the model is kept ----------------------------------------------------------
def native_error(sources):
    """The CodeError the engine raises natively for these files: building, or in the first step."""
    try:
        trainer = mg.Trainer(config(), DOCS, code=EditedCode(sources))
        trainer.step()
    except CodeError as e:
        return e
    raise AssertionError('the edit should fail')


def any_numbers(message):
    """A pattern of the message with any number where it has a decimal number."""
    return re.compile(re.sub(r'\d+\\\.\d+(e-?\d+)?', lambda _: r'-?\d+\.\d+(e-?\d+)?', re.escape(message)))


def test_broken_edits_show_file_line_and_message_and_keep_the_model(cp, tmp_path):
    assert len(BROKEN) >= 8
    cp.fresh(30)
    cp.step(2)
    before = cp.download_log(tmp_path)
    cp.code_button('Edit').click()
    for name, path, old, new, message, _ in BROKEN:
        sources, _ = edit(path, old, new)
        expected = native_error(sources)
        assert message in expected.message
        cp.paste(path, sources[path])
        cp.train_with_code()
        where = f'{expected.file}, line {expected.line}' if expected.line else expected.file
        expect(cp.message()).to_contain_text(f'{where}', timeout=STEP_TIMEOUT)
        expect(cp.message()).to_contain_text(any_numbers(expected.message))  # the page's model has other floats
        expect(cp.message()).to_contain_text('The model was not changed.')
        if expected.line:  # the editor shows that file with the line marked
            expect(cp.code.get_by_role('tab', name=path)).to_have_attribute('aria-selected', 'true')
            marked = cp.code.locator('.cm-error-line')
            expect(marked).to_have_count(1)
            assert marked.inner_text() == sources[path].splitlines()[expected.line - 1], name
        cp.paste(path, original_sources()[path])
        cp.wait_status(2, 30)  # the model is the one trained before
    assert cp.download_log(tmp_path) == before
    cp.step(1)  # and the worker trains on
    expect(cp.alert).to_have_text('')


def test_a_later_step_that_fails_keeps_the_steps_before_it(cp, tmp_path):
    sources, _ = edit(MODEL, '        loss.backward()\n', '        loss.backward()\n        assert step < 4\n')
    cp.fresh(30)
    cp.code_button('Edit').click()
    cp.paste(MODEL, sources[MODEL])
    cp.train_with_code()
    line = next(i for i, t in enumerate(sources[MODEL].splitlines(), 1) if 'assert step < 4' in t)
    expect(cp.message()).to_have_text(f'{MODEL}, line {line} (step 5): AssertionError', timeout=STEP_TIMEOUT)
    cp.wait_status(4, 30)  # the edited model stays at step 4, as a diverging run does
    expect(cp.alert).to_contain_text('AssertionError')
    assert len(cp.download_log(tmp_path).splitlines()) == 1 + 4


# -- a runaway edit -----------------------------------------------------------------------------------------------
RUNAWAY = ('        loss = self._forward(tokens)\n',
           '        loss = self._forward(tokens)\n        while step >= 2:\n            pass\n')


def test_a_runaway_edit_is_ended_by_the_limit_and_by_stop(cp):
    sources, _ = edit(MODEL, *RUNAWAY)
    cp.fresh(30)
    cp.code_button('Edit').click()
    cp.paste(MODEL, sources[MODEL])
    limit = cp.page.get_by_label('Step time limit (seconds)')
    limit.fill('0')
    expect(cp.page.locator('#err-code-limit')).to_contain_text('above 0')
    limit.fill('2')
    expect(cp.page.locator('#err-code-limit')).to_have_text('')
    cp.train_with_code()  # steps 1 and 2 train, the third never ends
    expect(cp.message()).to_contain_text('Stopped: your code ran past the step time limit (2 s a step)',
                                         timeout=STEP_TIMEOUT)
    expect(cp.message()).to_contain_text('A fresh Python worker took over', timeout=LOAD_TIMEOUT)
    expect(cp.alert).to_contain_text('A fresh Python worker is ready')
    cp.wait_enabled('Train')
    assert cp.texts()[MODEL] == sources[MODEL]  # the edit is still in the editor, to be fixed
    cp.step(1)  # the fresh worker trains
    # Stop: a generous limit, and the user does not wait
    limit.fill('600')
    cp.train_with_code()
    stop = cp.code_button('Stop')
    expect(stop).to_be_enabled(timeout=STEP_TIMEOUT)
    cp.wait_status(2, 30)
    stop.click()
    expect(cp.message()).to_contain_text('Stopped: you pressed Stop', timeout=STEP_TIMEOUT)
    expect(cp.message()).to_contain_text('A fresh Python worker took over', timeout=LOAD_TIMEOUT)
    cp.wait_enabled('Train')
    expect(stop).to_be_disabled()
    cp.step(1)


# -- the edit travels: Save model / Load model, links ---------------------------------------------------------------
def test_the_edit_travels_with_a_saved_model_and_in_a_link(cp, browser, site_url, tmp_path):
    edited = squared_relu()
    cp.fresh(30)
    cp.code_button('Edit').click()
    cp.paste(MODEL, edited)
    cp.train_with_code()
    cp.wait_status(30, 30, timeout=120_000)
    with cp.page.expect_download() as info:
        cp.button('Save model').click()
    info.value.save_as(tmp_path / 'run.json')
    assert json.loads((tmp_path / 'run.json').read_text())['code'] == {MODEL: edited}
    expect(cp.page).to_have_url(re.compile(r'&code=z:[A-Za-z0-9_-]+$|#.*code=z:'))
    link = cp.page.url

    other = CodePage(browser, site_url)  # Load model: the run and its code, once agreed to
    other.page.get_by_label('Load model', exact=True).set_input_files(str(tmp_path / 'run.json'))
    other.code.get_by_role('button', name='Load this code').click()
    other.wait_status(30, 30)
    other.wait_text(MODEL, edited)
    expect(other.page.locator('#engine option[value="efficient"]')).to_be_disabled()
    other.close()

    opened = CodePage(browser, link)  # a link: asked first, with the changes; nothing runs
    offer = opened.code.get_by_role('group', name=re.compile('This link carries edited code'))
    expect(offer).to_be_visible()
    expect(offer.get_by_label("The link's changes")).to_contain_text('+        x = [xi.relu() ** 2 for xi in x]')
    assert opened.texts() == original_sources()
    opened.wait_status(0, 30)
    offer.get_by_role('button', name='Load this code').click()
    expect(offer).to_be_hidden()
    assert opened.texts()[MODEL] == edited
    opened.wait_status(0, 30)  # loaded, not run
    opened.close()

    declined = CodePage(browser, link)
    declined.code.get_by_role('button', name='Keep the original').click()
    assert declined.texts() == original_sources()
    declined.close()


def test_the_panel_in_use_has_no_wcag_aa_violation(browser, site_url):
    from test_guards import _BypassingCSP, assert_accessible
    cp = CodePage(_BypassingCSP(browser), site_url)  # axe-core is injected inline
    try:
        assert_accessible(cp, 'the code shown read-only')
        cp.code_button('Edit').click()
        sources, _ = edit(MODEL, 'def rmsnorm(x):', 'def rmsnorm(x)')
        cp.paste(MODEL, sources[MODEL])
        cp.train_with_code()
        expect(cp.message()).to_contain_text('SyntaxError', timeout=STEP_TIMEOUT)
        expect(cp.code.locator('.cm-error-line')).to_have_count(1)
        cp.code.get_by_text('What changed').click()
        expect(cp.page.get_by_label('Changes against the original code')).to_contain_text('+def rmsnorm(x)')
        assert_accessible(cp, 'editing, an error marked, the changes shown')
    finally:
        cp.close()


# -- consent (issue 18): a saved run's code is shown and asked about before anything of it runs -----------------------
def saved_edited_run(tmp_path, name, change, steps=3, runs=True):
    """A run of the words with edited model.py, saved natively after `steps` steps: its path and sources.
    runs=False: code that cannot run (the run is trained with the shipped code, then saved with it)."""
    sources, _ = edit(MODEL, *change)
    trainer = mg.Trainer(mg.Config(n_embd=8, n_head=2, block_size=8, num_steps=20, seed=7), WORDS,
                         code=EditedCode(sources) if runs else None)
    for _ in range(steps):
        trainer.step()
    from microgpt import state
    data = state.to_json(trainer)
    data['code'] = {MODEL: sources[MODEL]}
    (tmp_path / name).write_text(json.dumps(data), encoding='utf-8')
    return tmp_path / name, sources


def offer(cp):
    return cp.code.get_by_role('group', name=re.compile('carries edited code'))


def load_file(cp, path):
    cp.page.get_by_label('Load model', exact=True).set_input_files(str(path))


def test_load_model_of_a_run_with_code_shows_the_changes_and_asks(cp, tmp_path):
    path, sources = saved_edited_run(tmp_path, 'run.json', SQUARED_RELU)
    cp.fresh(30)
    cp.step(2)
    load_file(cp, path)
    expect(offer(cp)).to_contain_text('run.json carries edited code (microgpt/model.py)')
    expect(offer(cp).get_by_label("The saved run's changes")).to_contain_text('+        x = [xi.relu() ** 2 for xi in x]')
    cp.wait_status(2, 30)  # nothing loaded while it asks
    offer(cp).get_by_role('button', name='Cancel').click()
    expect(offer(cp)).to_be_hidden()
    expect(cp.alert).to_contain_text('run.json: you chose not to load its code. The current model is kept.')
    cp.wait_status(2, 30)
    cp.step(1)

    load_file(cp, path)  # Keep the original: the saved weights, the shipped code
    offer(cp).get_by_role('button', name='Keep the original').click()
    cp.wait_status(3, 20)
    assert cp.texts() == original_sources()
    expect(cp.page.locator('#engine option[value="efficient"]')).to_be_enabled()

    load_file(cp, path)  # Load this code: the run continues with it
    offer(cp).get_by_role('button', name='Load this code').click()
    cp.wait_status(3, 20)
    cp.wait_text(MODEL, sources[MODEL])
    expect(cp.page.locator('#engine option[value="efficient"]')).to_be_disabled()
    cp.step(1)
    assert cp.errors == []


def test_a_saved_run_s_code_is_not_compiled_before_the_answer(cp, tmp_path):
    path, _ = saved_edited_run(tmp_path, 'raises.json', ('def rmsnorm(x):', "raise RuntimeError('it ran')\ndef rmsnorm(x):"),
                               runs=False)
    load_file(cp, path)
    expect(offer(cp)).to_contain_text('raises.json carries edited code')  # asked: so it was not run
    expect(cp.alert).to_have_text('')
    offer(cp).get_by_role('button', name='Load this code').click()
    expect(cp.alert).to_contain_text("RuntimeError: it ran")  # run once agreed to: it fails, the model is kept
    expect(cp.alert).to_contain_text('The current model is kept')
    cp.wait_status(0, 1000)
    cp.step(1)


def test_the_original_is_not_offered_when_the_weights_do_not_fit_it(cp, tmp_path):
    from test_edits import ADDED_WEIGHT
    path, sources = saved_edited_run(tmp_path, 'wider.json', ADDED_WEIGHT)
    load_file(cp, path)
    expect(offer(cp)).to_contain_text('do not fit the original code')
    expect(offer(cp).get_by_role('button', name='Keep the original')).to_be_hidden()
    offer(cp).get_by_role('button', name='Load this code').click()
    cp.wait_status(3, 20)
    cp.wait_text(MODEL, sources[MODEL])


def test_resume_of_an_autosaved_run_with_code_asks_too(cp, tmp_path):
    path, sources = saved_edited_run(tmp_path, 'run.json', SQUARED_RELU)
    meta = json.dumps({'step': 3, 'num_steps': 20, 'engine': 'original', 'config': {}, 'source': 'words.txt',
                       'summary': 'words'})
    assert cp.page.evaluate('([text, meta]) => keepStore.put({body: text}, meta)', [path.read_text(), meta]) == ''
    cp.page.reload()  # the stored run is offered
    cp.wait_enabled('Train')
    cp.button('Resume').click()
    expect(offer(cp)).to_contain_text('words.txt carries edited code (microgpt/model.py)')
    cp.wait_status(0, 1000)
    offer(cp).get_by_role('button', name='Load this code').click()
    cp.wait_status(3, 20)
    cp.wait_text(MODEL, sources[MODEL])


KILL_SANDBOX = "document.querySelector('iframe[sandbox]').remove()"  # edited code's worker, with its frame


def test_restart_restores_this_tab_s_own_edited_run_without_asking_and_no_other_code(cp, tmp_path):
    from test_keep import wait_stored
    edited = squared_relu()
    cp.fresh(100000)
    cp.code_button('Edit').click()
    cp.paste(MODEL, edited)
    cp.train_with_code()
    wait_stored(cp, lambda step: step > 0, timeout=120_000)
    cp.button('Pause').click()
    expect(cp.status).to_contain_text('paused')
    paused = cp.step_numbers()[0]
    wait_stored(cp, lambda step: step == paused)
    cp.page.evaluate(KILL_SANDBOX)
    cp.button('Step').click()
    expect(cp.status).to_contain_text('The Python worker is gone', timeout=LOAD_TIMEOUT)
    cp.button('Restart').click()
    cp.wait_enabled('Train')
    expect(cp.alert).to_contain_text(f'restored from its last autosave ({paused:,} steps)', timeout=LOAD_TIMEOUT)
    expect(offer(cp)).to_be_hidden()  # the code this tab ran: not asked again
    cp.wait_status(paused, 100000)
    cp.wait_text(MODEL, edited)

    other, _ = saved_edited_run(tmp_path, 'other.json', ('def rmsnorm(x):', '# another tab\ndef rmsnorm(x):'))
    meta = json.dumps({'step': 3, 'num_steps': 20, 'engine': 'original', 'config': {}, 'source': 'words.txt',
                       'summary': 'words'})  # stored since by another tab, with other code
    assert cp.page.evaluate('([text, meta]) => keepStore.put({body: text}, meta)', [other.read_text(), meta]) == ''
    cp.page.evaluate(KILL_SANDBOX)  # the restarted one
    cp.button('Step').click()
    expect(cp.status).to_contain_text('The Python worker is gone', timeout=LOAD_TIMEOUT)
    cp.button('Restart').click()
    cp.wait_enabled('Train')
    expect(cp.alert).to_contain_text('A fresh Python worker is ready, with the same dataset and settings',
                                     timeout=LOAD_TIMEOUT)
    expect(offer(cp)).to_be_hidden()
    cp.wait_status(0, 100000)


def test_a_run_that_cannot_be_saved_never_replaces_the_good_autosave(cp):
    from test_keep import HIDE, STORED_STEP, wait_stored
    cp.fresh(100000)
    cp.step(3)
    cp.page.evaluate(HIDE)  # the tab hidden: the run is stored
    wait_stored(cp, lambda step: step == 3)
    sources, _ = edit(MODEL, "        return {name: [[p.data for p in row]",
                      "        return {name: [[type('FloatLike', (float,), {})(p.data) for p in row]")
    cp.code_button('Edit').click()
    cp.paste(MODEL, sources[MODEL])
    cp.train_with_code()  # trains: its losses are floats, but its weights are not
    expect(cp.status).to_contain_text(re.compile(r'step ([4-9]|\d\d+) / 100000'), timeout=STEP_TIMEOUT)
    cp.button('Pause').click()  # Pause stores the run: it cannot be written
    expect(cp.status).to_contain_text('paused')
    cp.page.evaluate(HIDE)
    cp.page.wait_for_timeout(3000)
    assert cp.page.evaluate(STORED_STEP) == 3  # the good run is still there
    cp.button('Save model').click()
    expect(cp.alert).to_contain_text('Save model: the model cannot be saved: weights wte holds')
    expect(cp.alert).to_contain_text('a FloatLike, not a float')
