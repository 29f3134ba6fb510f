"""The page in a real Chromium: loading, the training controls, settings, datasets, refusals, engines, samples.

Uses conftest.py's `site_url` (dist/ built and served on localhost) and `browser` fixtures. Small settings
(20 steps) keep every test to a few seconds; loading the page takes about 3 s.
"""
import json
import re
from urllib.parse import urlsplit

import pytest

from microgpt import Config, ConfigError, Tokenizer, count_params, parse_documents

from playwright.sync_api import expect

LOAD_TIMEOUT = 60_000
STEP_TIMEOUT = 30_000


class Page:
    """A loaded page (Train enabled) and what it logged; helpers speak in the page's accessible names."""

    def __init__(self, browser, site_url):
        self.origin = '{0.scheme}://{0.netloc}'.format(urlsplit(site_url))
        self.page = page = browser.new_page(viewport={'width': 1366, 'height': 900})
        self.errors, self.outside, self.dialogs = [], [], []
        page.on('console', lambda m: self.errors.append(m.text) if m.type == 'error' else None)
        page.on('pageerror', lambda e: self.errors.append(str(e)))
        page.on('request', self._request)
        page.on('dialog', self._dialog)
        self.answer_dialogs = False  # confirm() answers: dismiss unless a test says otherwise
        page.goto(site_url)
        self.wait_enabled('Train')

    def _request(self, request):
        url = request.url
        if url.startswith('data:'):
            return
        if url.startswith('blob:'):
            url = url[len('blob:'):]
        if '{0.scheme}://{0.netloc}'.format(urlsplit(url)) != self.origin:
            self.outside.append(request.url)

    def _dialog(self, dialog):
        self.dialogs.append((dialog.type, dialog.message))
        if self.answer_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    # -- reading and driving the page -------------------------------------------------------------------
    def button(self, name):
        return self.page.get_by_role('button', name=name, exact=True)

    def wait_enabled(self, name):
        self.page.wait_for_function('b => !b.disabled', arg=self.button(name).element_handle(),
                                    timeout=LOAD_TIMEOUT)

    def field(self, label):
        return self.page.get_by_label(label, exact=True)

    def set(self, label, value):
        """Type a setting and leave the field (the page applies a setting when it changes)."""
        field = self.field(label)
        field.fill(str(value))
        field.press('Tab')

    @property
    def status(self):
        return self.page.get_by_role('status')

    @property
    def alert(self):
        return self.page.get_by_role('alert')

    def step_numbers(self):
        match = re.search(r'step (\d+) / (\d+)', self.status.inner_text())
        assert match, self.status.inner_text()
        return int(match.group(1)), int(match.group(2))

    def wait_status(self, step, total, timeout=STEP_TIMEOUT):
        expect(self.status).to_contain_text(f'step {step} / {total}', timeout=timeout)

    def fresh(self, steps=20):
        """A new model with `steps` steps (Steps changed before any training: no question asked)."""
        self.set('Steps', steps)
        self.wait_status(0, steps)

    def step(self, times=1):
        for _ in range(times):
            before = self.step_numbers()[0]
            self.button('Step').click()
            self.wait_status(before + 1, self.step_numbers()[1])

    def samples(self):
        return self.page.locator('#samples li').all_inner_texts()

    def dataset_summary(self):
        return self.page.locator('#data-summary').inner_text()

    def upload(self, name, data):
        self.page.get_by_label('Upload word list').set_input_files(
            files=[{'name': name, 'mimeType': 'text/plain', 'buffer': data}])

    def download_log(self, tmp_path):
        with self.page.expect_download() as info:
            self.button('Download log').click()
        path = tmp_path / 'log.csv'
        info.value.save_as(path)
        return path.read_text(encoding='utf-8')

    def close(self):
        self.page.close()


@pytest.fixture
def ui(browser, site_url):
    p = Page(browser, site_url)
    yield p
    p.close()


@pytest.fixture(scope='module')
def presets(dist_dir):
    """The dataset presets the build wrote (dist/data/presets.json) by id, each with its vocabulary size (its
    characters and BOS): the counts the page shows come from the data, not from this file."""
    found = {}
    for preset in json.loads((dist_dir / 'data' / 'presets.json').read_text(encoding='utf-8')):
        docs = parse_documents((dist_dir / preset['file']).read_bytes())
        found[preset['id']] = dict(preset, vocab_size=Tokenizer.from_documents(docs).vocab_size)
    return found


def documents(preset):
    """How the page writes a preset's number of documents."""
    return f"{preset['documents']:,} documents"


ROW = re.compile(r'\d+,\d+\.\d+(e-?\d+)?,\d+\.\d+(e-?\d+)?')


# -- loading -----------------------------------------------------------------------------------------------
def test_loads_with_no_console_errors_and_nothing_from_outside(ui, presets):
    ui.wait_status(0, 1000)
    assert ui.button('Pause').is_disabled()
    expect(ui.page.locator('#params')).to_have_text(f"{count_params(Config(), presets['names']['vocab_size']):,}")
    expect(ui.page.locator('#data-summary')).to_contain_text(documents(presets['names']))
    assert ui.page.get_by_label('Dataset').input_value() == 'names'
    assert ui.errors == []
    assert ui.outside == []
    assert ui.alert.inner_text() == ''


# -- training controls -------------------------------------------------------------------------------------
def test_train_runs_to_the_end_with_losses_in_the_log(ui, tmp_path):
    ui.fresh(20)
    ui.button('Train').click()
    ui.wait_status(20, 20, timeout=60_000)
    expect(ui.status).to_contain_text('done')
    assert ui.page.locator('progress').get_attribute('value') == '20'
    assert re.fullmatch(r'\d+\.\d{4}', ui.page.locator('#stat-loss').inner_text())
    rows = ui.download_log(tmp_path).splitlines()
    assert rows[0] == 'step,loss,learning_rate'
    assert [int(r.split(',')[0]) for r in rows[1:]] == list(range(1, 21))
    assert all(ROW.fullmatch(r) for r in rows[1:]), rows
    assert ui.button('Train').is_disabled()  # nothing left to train
    assert len(ui.samples()) == 8  # the finished model's samples
    assert ui.errors == [] and ui.outside == []


def test_pause_stops_step_adds_one_reset_starts_over(ui, tmp_path):
    ui.fresh(500)
    ui.button('Train').click()
    expect(ui.status).to_contain_text(re.compile(r'step ([3-9]|\d\d+) / 500'), timeout=STEP_TIMEOUT)
    ui.button('Pause').click()
    expect(ui.status).to_contain_text('paused')
    paused_at = ui.step_numbers()[0]
    # paused means no more steps: 'paused' shows once the training loop has ended, and the worker (the log,
    # read through it after everything asked of it before) has trained just the steps shown
    assert len(ui.download_log(tmp_path).splitlines()) == paused_at + 1
    assert ui.step_numbers()[0] == paused_at
    ui.button('Step').click()
    ui.wait_status(paused_at + 1, 500)
    assert len(ui.download_log(tmp_path).splitlines()) == paused_at + 2
    assert ui.step_numbers()[0] == paused_at + 1  # exactly one
    ui.button('Train').click()  # resume
    expect(ui.status).to_contain_text(re.compile(r'training'))
    ui.button('Reset').click()
    ui.wait_status(0, 500)
    expect(ui.status).to_contain_text('ready: press Train')  # and training stopped (the loop has ended)
    assert ui.step_numbers()[0] == 0
    assert ui.download_log(tmp_path).splitlines() == ['step,loss,learning_rate']
    assert ui.dialogs == []  # Reset asks nothing


def test_actions_get_in_between_batches_while_training(ui, tmp_path):
    """Batches run back to back, yet Generate, a settings change and Pause each get in between two of them;
    the log keeps every step once, in order, and samples say the step they were drawn at."""
    ui.page.get_by_label('Engine').select_option(index=1)  # efficient: many steps per batch
    ui.fresh(5000)
    ui.button('Train').click()
    expect(ui.status).to_contain_text(re.compile(r'step \d{2,} / 5000'), timeout=STEP_TIMEOUT)
    ui.button('Generate').click()
    note = ui.page.locator('#samples-note')
    expect(note).to_contain_text(re.compile(r'After \d{2,}'), timeout=STEP_TIMEOUT)
    ui.set('Temperature', '0.8')  # a setting that keeps the model, applied while training
    expect(note).to_contain_text('at temperature 0.8', timeout=STEP_TIMEOUT)
    assert 'training' in ui.status.inner_text()
    sampled_at = int(re.search(r'After ([\d,]+)', note.inner_text()).group(1).replace(',', ''))
    ui.button('Pause').click()
    expect(ui.status).to_contain_text('paused')  # not 'pausing…': the batch under way at Pause has come back
    paused_at = ui.step_numbers()[0]
    assert 0 < sampled_at <= paused_at < 5000
    rows = ui.download_log(tmp_path).splitlines()  # through the worker, after everything asked of it before
    assert ui.step_numbers()[0] == paused_at  # the batch under way at Pause was the last
    assert [int(r.split(',')[0]) for r in rows[1:]] == list(range(1, paused_at + 1))
    assert ui.errors == [] and ui.alert.inner_text() == ''


def test_steps_and_temperature_keep_the_model_other_settings_ask(ui, presets):
    ui.fresh(20)
    ui.step(3)
    ui.set('Steps', 30)  # more steps: same model
    ui.wait_status(3, 30)
    ui.set('Temperature', 0.9)  # sampling only
    ui.button('Generate').click()  # handled after the temperature change: the model is the same one
    expect(ui.page.locator('#samples-note')).to_contain_text('After 3 steps, at temperature 0.9')
    ui.wait_status(3, 30)
    ui.set('Steps', 2)  # fewer than done: the engine's message, the model kept
    expect(ui.page.locator('#err-num_steps')).to_contain_text('at least the 3 steps already trained')
    expect(ui.alert).to_contain_text('Steps')
    assert ui.button('Train').is_disabled()
    ui.set('Steps', 20)
    ui.wait_enabled('Train')
    ui.wait_status(3, 20)
    ui.set('Layers', 2)  # a new shape: confirm() asked, dismissed, value put back
    expect(ui.field('Layers')).to_have_value('1')
    assert len(ui.dialogs) == 1 and 'Discard the 3 steps' in ui.dialogs[0][1]
    ui.wait_status(3, 20)
    ui.answer_dialogs = True
    ui.set('Layers', 2)  # accepted: a fresh two-layer model
    ui.wait_status(0, 20)
    expect(ui.page.locator('#params')).to_have_text(f"{count_params(Config(n_layer=2), presets['names']['vocab_size']):,}")


# -- settings ----------------------------------------------------------------------------------------------
def test_steps_below_the_trained_ones_keep_the_model_and_reset_takes_them(ui):
    """Fewer Steps than the model has trained: the model stays and cannot train, but Reset is offered and
    starts a new model with them."""
    ui.fresh(20)
    ui.step(4)
    ui.set('Steps', 2)
    expect(ui.alert).to_contain_text('Steps: must be at least the 4 steps already trained')
    expect(ui.alert).to_contain_text('Reset starts a new model')
    assert ui.field('Steps').get_attribute('aria-invalid') == 'true'
    assert ui.button('Train').is_disabled() and ui.button('Step').is_disabled()
    assert ui.step_numbers() == (4, 20)  # nothing lost
    ui.button('Reset').click()
    ui.wait_status(0, 2)
    expect(ui.alert).to_have_text('')
    assert ui.field('Steps').get_attribute('aria-invalid') is None
    ui.step(2)
    assert ui.errors == []


def test_settings_change_the_parameter_count(ui, presets):
    params = ui.page.locator('#params')
    vocab = presets['names']['vocab_size']
    expect(params).to_have_text(f'{count_params(Config(), vocab):,}')
    ui.field('Embedding size').fill('32')  # updates while typing
    expect(params).to_have_text(f'{count_params(Config(n_embd=32), vocab):,}')
    ui.field('Layers').fill('3')
    expect(params).to_have_text(f'{count_params(Config(n_embd=32, n_layer=3), vocab):,}')
    ui.field('Block size').fill('8')
    expect(params).to_have_text(f'{count_params(Config(n_embd=32, n_layer=3, block_size=8), vocab):,}')
    expect(ui.page.locator('#data-truncated')).to_contain_text('longer than the block size (8)')


def test_invalid_setting_shows_the_engine_message_and_cannot_train(ui, tmp_path):
    with pytest.raises(ConfigError) as e:
        Config(n_embd=16, n_head=3).validate()
    ui.set('Heads', 3)
    assert e.value.fields == ('n_embd', 'n_head')
    expect(ui.page.locator('#err-n_head')).to_have_text(str(e.value))  # where the user typed
    expect(ui.page.locator('#err-n_embd')).to_have_text('')
    expect(ui.alert).to_contain_text('Heads: ' + e.value.rule)
    ui.set('Embedding size', 20)  # still not a multiple of 3: now said where the user typed last
    expect(ui.page.locator('#err-n_embd')).to_contain_text('not a multiple of 3')
    expect(ui.page.locator('#err-n_head')).to_have_text('')
    ui.set('Embedding size', 16)
    assert ui.field('Embedding size').get_attribute('aria-invalid') == 'true'
    assert ui.field('Heads').get_attribute('aria-invalid') == 'true'  # the rule names n_head too
    assert ui.field('Layers').get_attribute('aria-invalid') is None
    assert ui.button('Train').is_disabled() and ui.button('Step').is_disabled()
    ui.button('Train').click(force=True)
    # the worker (the log, read through it after anything a click asked of it) has trained nothing
    assert ui.download_log(tmp_path).splitlines() == ['step,loss,learning_rate']
    assert ui.step_numbers()[0] == 0
    ui.set('Learning rate', '')  # not a number at all
    ui.set('Heads', 4)
    expect(ui.page.locator('#err-learning_rate')).to_contain_text('learning_rate: must be a number')
    ui.set('Learning rate', 0.01)
    ui.wait_enabled('Train')
    expect(ui.alert).to_have_text('')


# -- datasets ----------------------------------------------------------------------------------------------
def test_uploaded_word_list_trains_and_samples_use_its_letters(ui):
    words = ['abba', 'baba', 'cab', 'acab', 'bacca', 'abc', 'cabbac', 'ba']
    ui.upload('abc.txt', ('\n'.join(words) + '\n').encode())
    expect(ui.page.locator('#data-summary')).to_contain_text('8 documents')
    expect(ui.page.locator('#data-summary')).to_contain_text('vocabulary 4')
    ui.fresh(20)
    expect(ui.page.locator('#params')).to_have_text(f'{count_params(Config(), 4):,}')
    ui.button('Train').click()
    ui.wait_status(20, 20, timeout=60_000)
    ui.button('Generate').click()
    expect(ui.page.locator('#samples li')).to_have_count(8)
    for sample in ui.samples():
        assert sample == '(empty)' or set(sample) <= set('abc'), sample
    assert 'abc.txt' in ui.page.get_by_label('Dataset').locator('option:checked').inner_text()


def test_pasted_words_become_the_dataset(ui, presets):
    ui.page.locator('summary', has_text='Paste').click()
    ui.page.get_by_label('Words to train on').fill('xyz\n  zyx \n\nyyz\n')
    ui.button('Use pasted text').click()
    expect(ui.page.locator('#data-summary')).to_contain_text('pasted text · 3 documents · vocabulary 4')
    expect(ui.page.get_by_label('Dataset').locator('option:checked')).to_have_text('Pasted text')
    expect(ui.page.locator('#params')).to_have_text(f'{count_params(Config(), 4):,}')
    ui.wait_status(0, 1000)
    ui.step()
    ui.page.get_by_label('Dataset').select_option('names')  # back to a preset (asks: dismissed, then accepted)
    expect(ui.page.get_by_label('Dataset').locator('option:checked')).to_have_text('Pasted text')
    ui.answer_dialogs = True
    ui.page.get_by_label('Dataset').select_option('names')
    expect(ui.page.locator('#data-summary')).to_contain_text(documents(presets['names']))
    ui.wait_status(0, 1000)


def test_presets_and_long_documents(ui, presets):
    ui.page.get_by_label('Dataset').select_option('states')
    expect(ui.page.locator('#data-summary')).to_contain_text(documents(presets['states']))
    ui.set('Block size', 8)
    expect(ui.page.locator('#data-truncated')).to_contain_text(re.compile(r'\d+ documents are longer than the block'))
    ui.wait_status(0, 1000)


REFUSED = [
    ('empty.txt', b'', 'no documents'),
    ('blank.txt', b'  \n\t\n \r\n', 'no documents'),
    ('bytes.txt', b'ok\n\xff\xfe\x80bad\n', 'not UTF-8'),
    ('big.txt', b'abcdefghi\n' * (1_100_000), 'limit is 10 MB'),
    ('wide.txt', '\n'.join(chr(0x4E00 + i) for i in range(600)).encode(), 'distinct characters'),
]


def test_refused_uploads_keep_the_dataset_and_the_model(ui):
    ui.fresh(20)
    ui.step(3)
    summary = ui.dataset_summary()
    for done, (name, data, message) in enumerate(REFUSED, start=3):
        ui.upload(name, data)
        expect(ui.alert).to_contain_text(message)
        expect(ui.alert).to_contain_text(name)
        assert ui.dataset_summary() == summary
        ui.wait_status(done, 20)
        assert ui.page.get_by_label('Dataset').input_value() == 'names'
        ui.step()  # the worker is alive and the model still there (and the alert is cleared)
        expect(ui.alert).to_have_text('')
    ui.wait_status(3 + len(REFUSED), 20)
    # the paste box refuses blank text the same way
    ui.page.locator('summary', has_text='Paste').click()
    ui.page.get_by_label('Words to train on').fill('   \n  ')
    ui.button('Use pasted text').click()
    expect(ui.alert).to_contain_text('no documents')
    assert ui.dataset_summary() == summary
    assert ui.dialogs == []
    assert ui.errors == []


def test_user_text_is_shown_as_text_never_as_html(ui):
    evil = ['<img src=x onerror=alert(1)>', '<b>bold</b>', '&amp;', '<script>alert(2)</script>']
    ui.upload('<img src=y onerror=alert(3)>.txt', ('\n'.join(evil) + '\n').encode())
    expect(ui.page.locator('#data-summary')).to_contain_text('4 documents')
    chips = ui.page.locator('#data-examples .chip').all_inner_texts()
    assert sorted(chips) == sorted(evil)
    ui.fresh(20)
    ui.step(2)
    ui.button('Generate').click()
    expect(ui.page.locator('#samples li')).to_have_count(8)
    assert ui.page.locator('img').count() == 0
    assert ui.page.locator('b', has_text='bold').count() == 0
    assert ui.page.locator('script', has_text='alert(2)').count() == 0
    assert '<img src=y onerror=alert(3)>.txt' in ui.page.get_by_label('Dataset').locator('option:checked').inner_text()
    assert ui.dialogs == []


def test_changing_dataset_after_training_asks_first(ui, presets):
    ui.fresh(20)
    ui.step(2)
    ui.page.get_by_label('Dataset').select_option('cats')  # dismissed: nothing changes
    expect(ui.page.get_by_label('Dataset')).to_have_value('names')
    assert len(ui.dialogs) == 1 and 'cat names' in ui.dialogs[0][1].lower()
    ui.wait_status(2, 20)
    expect(ui.page.locator('#data-summary')).to_contain_text(documents(presets['names']))
    ui.answer_dialogs = True
    ui.page.get_by_label('Dataset').select_option('cats')
    ui.wait_status(0, 20)
    expect(ui.page.locator('#data-summary')).to_contain_text(documents(presets['cats']))


# -- engines and samples -----------------------------------------------------------------------------------
def test_engine_switch_keeps_the_model_and_verify_reports_identical(ui, tmp_path):
    ui.fresh(20)
    ui.step(2)
    engine = ui.page.get_by_label('Engine')
    assert engine.locator('option').all_inner_texts()[0].startswith('original')
    engine.select_option(index=1)
    assert engine.locator('option:checked').inner_text().startswith('efficient')
    assert len(ui.download_log(tmp_path).splitlines()) == 3  # read through the worker after the switch
    ui.wait_status(2, 20)
    ui.step()
    ui.button('Verify').click()
    expect(ui.page.locator('#verify-result')).to_contain_text('Identical', timeout=STEP_TIMEOUT)
    ui.button('Train').click()
    ui.wait_status(20, 20, timeout=60_000)
    assert len(ui.download_log(tmp_path).splitlines()) == 21
    assert ui.alert.inner_text() == ''


def test_verify_runs_from_the_current_state(ui):
    ui.fresh(20)
    ui.step(2)
    ui.button('Verify').click()
    result = ui.page.locator('#verify-result')
    expect(result).to_contain_text('Identical', timeout=STEP_TIMEOUT)
    expect(result).to_contain_text('from step 2')
    ui.wait_status(2, 20)  # verifying trains copies, not the model
    ui.step()


def test_generate_samples_without_changing_training(ui, tmp_path):
    ui.fresh(20)
    ui.step(4)
    ui.button('Generate').click()
    expect(ui.page.locator('#samples-note')).to_contain_text('After 4 steps, at temperature 0.5')
    expect(ui.page.locator('#samples li')).to_have_count(8)
    for _ in range(3):
        ui.button('Generate').click()
    ui.step(4)
    with_samples = ui.download_log(tmp_path)
    ui.button('Reset').click()
    ui.wait_status(0, 20)
    ui.step(8)
    assert ui.download_log(tmp_path) == with_samples
    assert ui.step_numbers() == (8, 20)


def test_works_under_a_sub_path(browser, sub_path_url):
    """A project page on a static host serves the site from /<name>/: every path must be relative."""
    ui = Page(browser, sub_path_url)
    ui.fresh(20)
    ui.step()
    assert ui.errors == [] and ui.outside == []
    ui.close()
