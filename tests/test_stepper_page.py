"""Step through gpt() in the page: the Code panel's editor follows the lines the worker recorded, Back / Next /
the arrow keys / Run to next block / the slider move through them, the variables are drawn, and the last line's
probabilities are the model's. The trace itself: test_tracing.py (natively, bit for bit)."""
import pytest
from playwright.sync_api import expect

from microgpt import Config, Trainer, parse_documents

from test_page import STEP_TIMEOUT, ui  # noqa: F401 - the fixture


@pytest.fixture(scope='module')
def names(dist_dir):
    return parse_documents((dist_dir / 'data' / 'names.txt').read_bytes())


def step_through(ui, word, position=''):
    ui.page.get_by_role('textbox', name='Word', exact=True).last.fill(word)
    ui.page.locator('#stepper-position').fill(str(position))
    ui.button('Step through').click()


def marked_line(ui):
    return ui.page.evaluate('codeEditor.stepped()')


def test_the_editor_follows_gpt_line_by_line(ui, names):
    ui.page.wait_for_function('() => window.codeEditor && codeEditor.ready()', timeout=STEP_TIMEOUT)
    fresh = Trainer(Config(), names)  # the page's first model, untrained
    native = fresh.step_through('emma', 4)
    step_through(ui, 'emma')  # empty position: the word's end, 4
    where = ui.page.locator('#stepper-where')
    expect(where).to_contain_text(f'step 1 of {len(native["steps"])}', timeout=STEP_TIMEOUT)
    trace = ui.page.evaluate('stepper.trace()')
    assert [s['line'] for s in trace['steps']] == [s['line'] for s in native['steps']]
    assert trace['blocks'] == native['blocks'] and trace['position'] == 4 and trace['token'] == 'a' == native['token']
    for got, want in zip(trace['probs'], native['probs']):  # Pyodide's exp may differ in the last bit
        assert got == pytest.approx(want, rel=1e-9)
    assert marked_line(ui) == native['first_line']
    expect(ui.page.locator('#stepper-about')).to_contain_text('Position 4 (input a) of “emma”, model at step 0')
    # Next, Back, the arrow keys
    ui.button('Next').click()
    assert marked_line(ui) == native['steps'][1]['line']
    expect(where).to_contain_text('step 2 of')
    expect(ui.page.locator('#stepper-vars code').first).to_have_text('head_dim')
    ui.page.locator('#stepper-view').focus()
    ui.page.keyboard.press('ArrowRight')
    ui.page.keyboard.press('ArrowRight')
    assert marked_line(ui) == native['steps'][3]['line']
    ui.page.keyboard.press('ArrowLeft')
    assert marked_line(ui) == native['steps'][2]['line']
    expect(ui.button('Back')).to_be_enabled()
    # Run to next block: the layer loop, then a head; the vector x as one row of 16 cells
    ui.button('Run to next block').click()
    assert ui.page.evaluate('stepper.at()') == native['blocks'][0]
    expect(where).to_contain_text('layer 1')
    ui.button('Run to next block').click()
    ui.button('Run to next block').click()
    expect(where).to_contain_text('head 1')
    # the slider, to the last line: logits and the probabilities
    last = len(native['steps']) - 1
    ui.page.locator('#stepper-slider').fill(str(last))
    expect(where).to_contain_text(f'step {last + 1} of {last + 1}')
    expect(ui.button('Next')).to_be_disabled()
    expect(ui.page.locator('#stepper-vars')).to_contain_text('the next-character probabilities')
    rows = ui.page.locator('#stepper-vars .cells')
    expect(rows).to_have_count(2)  # logits, then probabilities: one cell per token
    expect(rows.first.locator('.cell')).to_have_count(fresh.vocab_size)
    assert rows.first.locator('.cell').first.get_attribute('title').startswith('logits[0] (a) = ')
    assert rows.last.locator('.cell').first.get_attribute('title') == 'probs[0] (a) = %.4f' % native['probs'][0]
    assert ui.errors == []


def test_a_position_or_word_that_cannot_be_stepped_is_said_beside_the_field(ui):
    ui.page.wait_for_function('() => window.codeEditor && codeEditor.ready()', timeout=STEP_TIMEOUT)
    error = ui.page.locator('#stepper-prefix-error')
    step_through(ui, 'ava', 9)
    expect(error).to_have_text('position must be between 0 and 3 (BOS, then one for each character), got 9',
                               timeout=STEP_TIMEOUT)
    step_through(ui, 'a!')
    expect(error).to_contain_text("'!' is not in the vocabulary", timeout=STEP_TIMEOUT)
    step_through(ui, 'ava', 'two')
    expect(error).to_contain_text("the position must be a whole number, got 'two'", timeout=STEP_TIMEOUT)
    step_through(ui, 'ava', 1)
    expect(error).to_have_text('', timeout=STEP_TIMEOUT)
    expect(ui.page.locator('#stepper-where')).to_contain_text('step 1 of')
    ui.step()  # the worker is alive and the model trains
    assert ui.errors == []
