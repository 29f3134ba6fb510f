"""What a hostile pass found (issue 13): a gone worker, large pastes, odd characters, racing uploads, a garbled
answer. Each test failed before its fix."""
import re

from playwright.sync_api import expect

from microgpt import parse_documents
from test_page import LOAD_TIMEOUT, STEP_TIMEOUT, ui  # noqa: F401 - the fixture

KILL_WORKER = "document.querySelector('script[type=\"py\"][worker]').xworker.terminate()"


def paste(ui, text_js):
    """Paste text made by a JavaScript expression into the paste box (a clipboard paste event) and use it."""
    box = ui.page.get_by_label('Words to train on')
    if not box.is_visible():
        ui.page.locator('summary', has_text='Paste').click()
    box.focus()
    box.fill('')
    ui.page.evaluate(f"""() => {{
        const data = new DataTransfer();
        data.setData('text/plain', {text_js});
        const box = document.getElementById('paste');
        if (box.dispatchEvent(new ClipboardEvent('paste', {{clipboardData: data, bubbles: true, cancelable: true}})))
            box.value = data.getData('text/plain');  // what the browser does with a paste nobody took
    }}""")
    ui.button('Use pasted text').click()


def restart_and_train(ui, summary):
    expect(ui.status).to_contain_text('The Python worker is gone', timeout=LOAD_TIMEOUT)
    expect(ui.alert).to_contain_text('Restart starts a fresh worker')
    for name in ('Train', 'Step', 'Reset', 'Generate', 'Verify'):
        assert ui.button(name).is_disabled(), name
    ui.button('Restart').click()
    ui.wait_enabled('Train')
    expect(ui.alert).to_contain_text('A fresh Python worker is ready')
    assert ui.dataset_summary() == summary
    ui.wait_status(0, 20)
    ui.step(2)
    assert not ui.button('Restart').is_visible()


def test_a_worker_gone_while_idle_is_noticed_and_restarted(ui):
    ui.upload('abc.txt', b'abba\nbaba\ncab\nacab\n')
    expect(ui.page.locator('#data-summary')).to_contain_text('4 documents')
    ui.fresh(20)
    ui.step(2)
    summary = ui.dataset_summary()
    ui.page.evaluate(KILL_WORKER)
    ui.button('Step').click()
    restart_and_train(ui, summary)  # the uploaded dataset is back too
    assert ui.errors == []


def test_a_worker_gone_while_training_is_noticed_and_restarted(ui):
    ui.fresh(20)
    ui.set('Steps', 100000)
    ui.button('Train').click()
    expect(ui.status).to_contain_text(re.compile(r'step \d+ / 100000 · training'), timeout=STEP_TIMEOUT)
    summary = ui.dataset_summary()
    ui.page.evaluate(KILL_WORKER)
    expect(ui.alert).to_contain_text('stopped answering', timeout=LOAD_TIMEOUT)
    expect(ui.alert).to_contain_text('The model of')
    ui.set('Steps', 20)
    restart_and_train(ui, summary)


def test_a_large_paste_is_accepted_and_a_too_large_one_refused_at_once(ui):
    ui.fresh(20)
    ui.step()
    paste(ui, "'abcdefghi\\n'.repeat(1100000)")  # 11 MB
    expect(ui.alert).to_contain_text('pasted text is 11.0 MB; the limit is 10 MB')
    expect(ui.page.get_by_label('Words to train on')).to_have_attribute('placeholder', re.compile('Pasted 11.0 MB'))
    ui.step()  # the worker is alive, the model kept
    ui.answer_dialogs = True
    paste(ui, "'abcdefgh\\n'.repeat(1100000)")  # 9.9 MB
    expect(ui.page.locator('#data-summary')).to_contain_text('pasted text · 1,100,000 documents',
                                                               timeout=LOAD_TIMEOUT)
    ui.wait_status(0, 20)
    ui.step()


ASTRAL = ['🦊fox', '𝔘nicode', '𠀀han', '🇫🇷flag', 'plain', 'a🦊b𝔘c']


def test_characters_outside_the_bmp_show_as_themselves(ui):
    ui.upload('astral.txt', ('\n'.join(ASTRAL) + '\n').encode())
    expect(ui.page.locator('#data-summary')).to_contain_text('6 documents')
    chips = ui.page.locator('#data-examples .chip').all_inner_texts()
    assert sorted(chips) == sorted(ASTRAL)
    assert all('\ufffd' not in c for c in chips)
    ui.fresh(20)
    ui.step(3)
    ui.button('Generate').click()
    expect(ui.page.locator('#samples li')).to_have_count(8)
    letters = set(''.join(ASTRAL)) | set('(empty)')
    for sample in ui.samples():
        assert set(sample) <= letters, sample


def test_pasted_and_uploaded_text_give_the_cli_s_documents(ui):
    text = '\ufeffone two\r\n  lead\tand trail  \r\n\r\nemoji 🦊\nlone \ud800 half\n'
    # a Blob (a paste's way to the worker) encodes a lone surrogate as U+FFFD: the bytes the CLI is given
    data = text.replace('\ud800', '\ufffd').encode('utf-8')
    expected = parse_documents(data)
    ui.upload('tricky.txt', data)
    expect(ui.page.locator('#data-summary')).to_contain_text(f'{len(expected)} documents')
    assert sorted(ui.page.locator('#data-examples .chip').all_inner_texts()) == sorted(expected)
    paste(ui, repr(text))  # the same text, lone surrogate included (a Python literal is a JavaScript one here)
    expect(ui.page.locator('#data-summary')).to_contain_text(f'pasted text · {len(expected)} documents')
    assert sorted(ui.page.locator('#data-examples .chip').all_inner_texts()) == sorted(expected)
    assert ui.errors == []


def test_the_latest_file_chosen_wins(ui):
    ui.upload('first-large.txt', b'abcdefgh\n' * 1_000_000)  # seconds to read...
    ui.upload('second.txt', b'xyz\nzyx\nyzx\n')  # ...chosen while it is read
    expect(ui.page.get_by_label('Dataset').locator('option:checked')).to_have_text('Your file: second.txt',
                                                                                  timeout=LOAD_TIMEOUT)
    expect(ui.page.locator('#data-summary')).to_contain_text('second.txt · 3 documents')
    ui.page.wait_for_function("document.getElementById('status').textContent.includes('ready')")
    expect(ui.page.locator('#data-summary')).to_contain_text('second.txt · 3 documents')


def test_a_garbled_answer_is_said_and_the_page_goes_on(browser, site_url):
    """Past 2 GB of heap Pyodide hands garbled strings to JavaScript: every answer is parsed under one guard."""
    context = browser.new_context()

    def garble(route):
        body = route.fetch().text() + '\n\nsync.describe = lambda settings_json, engine: "\\x00{garbled"\n'
        route.fulfill(body=body, content_type='text/plain')
    context.route(re.compile(r'.*/worker\.py$'), garble)
    page = context.new_page()
    page.goto(site_url)
    alert = page.get_by_role('alert')
    expect(alert).to_contain_text('the worker gave an unreadable answer to describe', timeout=LOAD_TIMEOUT)
    context.close()


def test_a_diverging_run_stops_with_one_clear_message_and_keeps_its_steps(ui, tmp_path):
    """Learning rate 1: a step's arithmetic fails (log of 0). Every completed step is in the status and the
    log, the message is the engine's, not a traceback; Reset gives a working model."""
    ui.page.get_by_label('Engine').select_option('efficient')  # a batch of many steps: some complete first
    ui.set('Learning rate', 1)
    ui.fresh(1000)
    ui.button('Train').click()
    expect(ui.alert).to_contain_text('lower the learning rate', timeout=STEP_TIMEOUT)
    message = ui.alert.inner_text()
    failed_at = int(re.search(r'at step (\d+)', message).group(1))
    assert failed_at > 1 and 'Traceback' not in message and 'JsProxy' not in message
    ui.wait_status(failed_at - 1, 1000)
    expect(ui.status).to_contain_text('paused')
    rows = ui.download_log(tmp_path).splitlines()
    assert [int(r.split(',')[0]) for r in rows[1:]] == list(range(1, failed_at))
    ui.button('Step').click()  # the same step fails the same way, with the same words
    expect(ui.alert).to_have_text(message)
    ui.wait_status(failed_at - 1, 1000)
    ui.set('Learning rate', 0.01)  # a new model (asked first: dismissed, so the value is put back)
    expect(ui.field('Learning rate')).to_have_value('1.0')  # the model's own value, put back
    assert len(ui.dialogs) == 1 and 'Discard the' in ui.dialogs[0][1]
    ui.answer_dialogs = True
    ui.set('Learning rate', 0.01)
    ui.wait_status(0, 1000)
    ui.step(2)
    assert ui.errors == []
