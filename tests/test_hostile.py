"""The hostile corpus (tests/hostile.py): every case refused with the engine's message, natively and in the
page, where each leaves the worker alive and the trained model where it was."""
import pytest
from playwright.sync_api import expect

from hostile import CASES, REFUSED_PASTES, REFUSED_SETTINGS, REFUSED_STATES, REFUSED_UPLOADS, STATE_BYTES_LIMIT_MB
from microgpt import Config, ConfigError, DatasetError, parse_documents
from microgpt.config import SETTINGS
from test_page import LOAD_TIMEOUT, Page

LABELS = {s.label: s for s in SETTINGS}


def test_the_corpus_is_large_and_each_case_is_refused_by_the_engine():
    assert len(CASES) >= 40
    for name, data, message in REFUSED_UPLOADS:
        with pytest.raises(DatasetError, match=None) as e:
            parse_documents(data, source=name)
        assert message in str(e.value), name
    for name, text, message in REFUSED_PASTES:
        with pytest.raises(DatasetError) as e:
            parse_documents(text.encode(), source='pasted text')
        assert message in str(e.value), name
    for label, text, message in REFUSED_SETTINGS:
        setting = LABELS[label]
        with pytest.raises(ConfigError) as e:
            Config(**{setting.name: setting.parse(text)}).validate()
        assert message in str(e.value), (label, text)


def test_every_hostile_case_keeps_the_worker_and_the_model(browser, site_url):
    ui = Page(browser, site_url)
    ui.page.get_by_label('Engine').select_option('efficient')  # cheap steps: one after every case
    ui.fresh(1000)
    ui.step(2)
    summary = ui.dataset_summary()
    ui.page.locator('summary', has_text='Paste').click()
    ui.page.locator('summary', has_text='Advanced').click()
    done = 2
    for kind, what, data, message in CASES:
        if kind == 'upload':
            ui.upload(what, data)
            expect(ui.alert).to_contain_text(message)
        elif kind == 'paste':
            ui.page.get_by_label('Words to train on').fill(data)
            ui.button('Use pasted text').click()
            expect(ui.alert).to_contain_text(message)
        else:
            field = ui.field(what)
            before = field.input_value()
            ui.set(what, data)
        if kind == 'setting':  # the engine's message beside the field, the alert in the page's words
            expect(ui.page.locator('#err-' + LABELS[what].name)).to_contain_text(message)
            expect(ui.alert).to_contain_text(what + ': ' + message.split(': ', 1)[-1])
            assert ui.button('Train').is_disabled()
            ui.set(what, before)
            expect(ui.alert).to_have_text('')
        else:
            assert ui.dataset_summary() == summary, what
        ui.wait_status(done, 1000)  # the model is where it was...
        ui.step()  # ...and the worker alive
        done += 1
        expect(ui.alert).to_have_text('')
    assert ui.dialogs == [] and ui.errors == [] and ui.outside == []
    ui.close()


HUGE_FILE = """(size) => {  // a file over the state bound, made in the page (zeros: only its size matters)
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(size)], 'huge.json', {type: 'application/json'}));
    const input = document.getElementById('load-model');
    input.files = data.files;
    input.dispatchEvent(new Event('change', {bubbles: true}));
}"""


def test_every_hostile_state_is_refused_and_keeps_the_worker_and_the_model(browser, site_url):
    ui = Page(browser, site_url)
    ui.answer_dialogs = True  # "Load ...? This discards the steps trained so far": yes
    ui.page.get_by_label('Engine').select_option('efficient')
    ui.fresh(1000)
    ui.step(2)
    done = 2
    cases = [(name, raw, message) for name, raw, message in REFUSED_STATES]
    cases.append(('huge.json', None, f'a saved state may be at most {STATE_BYTES_LIMIT_MB} MB'))
    for name, raw, message in cases:
        if raw is None:
            ui.page.evaluate(HUGE_FILE, STATE_BYTES_LIMIT_MB * 1024 * 1024 + 1)
        else:
            ui.page.get_by_label('Load model', exact=True).set_input_files(
                files=[{'name': name, 'mimeType': 'application/json', 'buffer': raw}])
        expect(ui.alert).to_contain_text(message, timeout=LOAD_TIMEOUT)
        expect(ui.alert).to_contain_text(name)
        expect(ui.alert).to_contain_text('The current model is kept.')
        ui.wait_status(done, 1000)  # the model is where it was...
        ui.step()  # ...and the worker alive
        done += 1
        expect(ui.alert).to_have_text('')  # the next case's message is its own
    assert ui.errors == [] and ui.outside == []
    ui.close()
