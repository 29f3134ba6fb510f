"""The instruments in the page, through accessible names: the check box "hold out 10% for validation" (the
validation line on the chart, the uniform guess, the legend), the text field "Prefix" (next-character bars), the
region "Attention" (heatmaps), the previous run's overlay after a new model and "Clear overlay"; and training
with the views open logs the same bytes as with them closed. The data behind them: test_instruments.py.
"""
import json
import math
import time

import pytest
from playwright.sync_api import expect

from microgpt import Config, Trainer, parse_documents
from microgpt.trainer import VALIDATION_EVERY, VALIDATION_SAMPLE

from test_page import LOAD_TIMEOUT, STEP_TIMEOUT, Page, ui  # noqa: F401 - the fixture

VALIDATION = 'hold out 10% for validation'


@pytest.fixture(scope='module')
def names(dist_dir):
    """The names preset's documents (the page's first dataset)."""
    return parse_documents((dist_dir / 'data' / 'names.txt').read_bytes())


def percent(p):
    """views.js's bar names."""
    return f'{p * 100:.1f}%' if p * 100 >= 0.1 or p == 0 else '<0.1%'


def bar_names(trainer, prefix, temperature):
    probs = trainer.next_token_probs(prefix, temperature)
    return [f'{ch}: {percent(p)}' for ch, p in zip(trainer.tokenizer.uchars + ['end'], probs)]


def heatmap_names(trainer, word):
    """views.js's text alternative of each heatmap."""
    tokens = ['BOS'] + list(word)
    out = []
    for li, layer in enumerate(trainer.attention_maps(word)):
        for h, rows in enumerate(layer):
            strongest = []
            for t, row in enumerate(rows):
                row = [round(w, 4) for w in row]  # as the worker sends them
                best = max(range(len(row)), key=lambda s: (row[s], -s))  # the first of the largest
                strongest.append(f'{tokens[t]} → {tokens[best]} {math.floor(row[best] * 100 + 0.5)}%')  # Math.round
            out.append(f'layer {li + 1}, head {h + 1}: each position attends most to: ' + ', '.join(strongest))
    return out


def legend(ui):
    return ui.page.evaluate('lossChart.legend()')


def train_to_end(ui, total, timeout=120_000):
    ui.button('Train').click()
    ui.wait_status(total, total, timeout=timeout)


# -- validation ----------------------------------------------------------------------------------------------------
def test_the_validation_loss_is_drawn_next_to_the_training_loss(ui, names, tmp_path):
    box = ui.page.get_by_role('checkbox', name=VALIDATION, exact=True)
    expect(box).not_to_be_checked()  # off by default: the reference's run
    assert len(legend(ui)) == 2  # loss, smoothed
    ui.page.get_by_label('Engine').select_option('efficient')
    box.check()
    ui.fresh(250)
    train_to_end(ui, 250)
    expected = Trainer(Config(validation=True, num_steps=250), names, 'efficient')
    points = []
    for step in (0, VALIDATION_EVERY, 2 * VALIDATION_EVERY, 250):
        while expected.step_count < step:
            expected.step()
        points.append((step, expected.validation_loss()))
    drawn = ui.page.evaluate('lossChart.validationPoints()')
    assert [s for s, _ in drawn] == [s for s, _ in points]
    for (_, loss), (_, want) in zip(drawn, points):
        assert loss == pytest.approx(want, rel=1e-9)  # Pyodide's exp/log may differ from native in the last bit
    vocab = expected.vocab_size
    assert legend(ui) == ['loss', 'smoothed',
                          f'validation loss ({VALIDATION_SAMPLE} held-out documents, every {VALIDATION_EVERY} steps)',
                          f'guessing uniformly: ln {vocab} = {math.log(vocab):.2f}']
    assert 'the validation loss (orange points) and the loss of guessing uniformly (dashed)' in \
        ui.page.get_by_role('img', name='Loss chart').get_attribute('aria-label')
    log = ui.download_log(tmp_path).splitlines()
    assert log[0] == 'step,loss,learning_rate' and len(log) == 251  # the log's format does not change
    assert ui.errors == []


def test_too_few_documents_to_hold_out_are_refused_beside_the_box(ui):
    ui.upload('few.txt', b'ab\nba\naab\n')
    expect(ui.page.locator('#data-summary')).to_contain_text('3 documents', timeout=STEP_TIMEOUT)
    ui.page.get_by_role('checkbox', name=VALIDATION, exact=True).check()
    message = 'validation: holding out 10% needs at least 10 documents; the dataset has 3'
    expect(ui.page.locator('#err-validation')).to_have_text(message, timeout=STEP_TIMEOUT)
    expect(ui.button('Train')).to_be_disabled()
    ui.page.get_by_role('checkbox', name=VALIDATION, exact=True).uncheck()
    expect(ui.page.locator('#err-validation')).to_have_text('', timeout=STEP_TIMEOUT)
    ui.wait_enabled('Train')
    ui.step()  # the model trains on all three
    assert ui.errors == []


def test_the_box_travels_in_a_link(ui, browser, site_url):
    ui.page.get_by_role('checkbox', name=VALIDATION, exact=True).check()
    ui.page.wait_for_function('() => location.hash.includes("validation=True")', timeout=STEP_TIMEOUT)
    other = Page(browser, ui.page.url)
    try:
        expect(other.page.get_by_role('checkbox', name=VALIDATION, exact=True)).to_be_checked()
        other.step()
        assert any(label.startswith('validation loss') for label in other.page.evaluate('lossChart.legend()'))
        assert other.errors == []
    finally:
        other.close()


# -- the views ----------------------------------------------------------------------------------------------------------
def test_next_character_bars(ui, names):
    fresh = Trainer(Config(), names)  # the page's first model, untrained
    prefix = ui.page.get_by_role('textbox', name='Prefix', exact=True)
    bars = ui.page.locator('#next-bars button')
    prefix.focus()  # shows the bars for the start of a word
    expect(bars).to_have_count(fresh.vocab_size, timeout=STEP_TIMEOUT)
    assert [b.get_attribute('aria-label') for b in bars.all()] == bar_names(fresh, '', 0.5)
    expect(ui.page.locator('#next-note')).to_have_text('After the start of a word, at temperature 0.5 (step 0):')
    # clicking a bar adds its character; "end" (BOS) cannot be added
    ui.page.get_by_role('button', name=bar_names(fresh, '', 0.5)[4], exact=True).click()  # e
    expect(prefix).to_have_value('e')
    expect(ui.page.locator('#next-note')).to_contain_text('After “e”', timeout=STEP_TIMEOUT)
    assert [b.get_attribute('aria-label') for b in bars.all()] == bar_names(fresh, 'e', 0.5)
    expect(bars.last).to_be_disabled()
    assert bars.last.get_attribute('aria-label').startswith('end: ')
    # at another temperature
    ui.set('Temperature', 2)
    expect(ui.page.locator('#next-note')).to_contain_text('at temperature 2.0', timeout=STEP_TIMEOUT)
    assert [b.get_attribute('aria-label') for b in bars.all()] == bar_names(fresh, 'e', 2.0)
    # refusals, beside the field
    for text, message in (('eÉ', "'É' is not in the vocabulary of this dataset (abcdefghijklmnopqrstuvwxyz)"),
                          ('e' * 16, 'the prefix has 16 characters; with block size 16 the model predicts after '
                                     'at most 15')):
        prefix.fill(text)
        expect(ui.page.locator('#prefix-error')).to_have_text(message, timeout=STEP_TIMEOUT)
        expect(prefix).to_have_attribute('aria-invalid', 'true')
        expect(bars).to_have_count(0)
    prefix.fill('em')
    expect(bars).to_have_count(fresh.vocab_size, timeout=STEP_TIMEOUT)
    expect(ui.page.locator('#prefix-error')).to_have_text('')
    ui.step()  # the model and the worker are fine
    assert ui.errors == []


def test_the_attention_region(ui, names):
    fresh = Trainer(Config(), names)
    region = ui.page.get_by_role('region', name='Attention')
    region.get_by_role('textbox', name='Word').fill('emma')
    region.get_by_role('button', name='Show attention').click()
    maps = region.get_by_role('img')
    expect(maps).to_have_count(fresh.config.n_layer * fresh.config.n_head, timeout=STEP_TIMEOUT)
    assert [m.get_attribute('aria-label') for m in maps.all()] == heatmap_names(fresh, 'emma')
    # a sample: clicking it shows its attention
    ui.button('Generate').click()
    sample = ui.page.locator('#samples button').first
    expect(sample).to_be_visible(timeout=STEP_TIMEOUT)
    word = sample.inner_text()
    ui.page.get_by_role('button', name='attention of ' + word, exact=True).first.click()
    expect(region.get_by_role('textbox', name='Word')).to_have_value(word)
    expected = heatmap_names(fresh, word[:15])
    expect(maps.first).to_have_attribute('aria-label', expected[0], timeout=STEP_TIMEOUT)
    assert [m.get_attribute('aria-label') for m in maps.all()] == expected
    region.get_by_role('textbox', name='Word').fill('Émile')
    region.get_by_role('button', name='Show attention').click()
    expect(ui.page.locator('#attention-word-error')).to_have_text(
        "'É' is not in the vocabulary of this dataset (abcdefghijklmnopqrstuvwxyz)", timeout=STEP_TIMEOUT)
    expect(maps).to_have_count(0)
    assert ui.errors == []


def prepare(ui, total, views_open):
    """A fresh model of `total` steps on the efficient engine, with the views open or closed."""
    ui.page.get_by_label('Engine').select_option('efficient')
    ui.fresh(total)
    if views_open:
        ui.page.get_by_role('textbox', name='Prefix', exact=True).fill('ma')
        region = ui.page.get_by_role('region', name='Attention')
        region.get_by_role('textbox', name='Word').fill('maria')
        region.get_by_role('button', name='Show attention').click()
        expect(region.get_by_role('img')).to_have_count(4, timeout=STEP_TIMEOUT)


def train_watching(ui, total):
    """Train to the end, watching the views: the notes they showed while training (step numbers included)."""
    seen = set()
    ui.button('Train').click()
    deadline = time.monotonic() + 180
    while ui.step_numbers()[0] < total and time.monotonic() < deadline:
        seen.add((ui.page.locator('#next-note').inner_text(), ui.page.locator('#attention-note').inner_text()))
        time.sleep(0.1)
    ui.wait_status(total, total)
    return seen


def test_training_with_the_views_open_logs_the_same_bytes(browser, site_url, tmp_path):
    # the views refresh every 2 s while training: the run lasts long enough for several refreshes on a fast machine
    total = 1200
    closed, opened = Page(browser, site_url), Page(browser, site_url)
    try:
        prepare(closed, total, views_open=False)
        prepare(opened, total, views_open=True)
        closed.button('Train').click()  # the two pages train side by side (a run's bytes do not depend on when)
        seen = train_watching(opened, total)
        closed.wait_status(total, total, timeout=180_000)
        closed_log = closed.download_log(tmp_path)
        opened_log = opened.download_log(tmp_path)
        expect(opened.page.locator('#next-note')).to_contain_text(f'(step {total})', timeout=STEP_TIMEOUT)
        assert opened.errors == []
    finally:
        closed.close()
        opened.close()
    # the views followed the model while it trained
    assert len({next_note for next_note, _ in seen}) >= 3 and len({note for _, note in seen}) >= 3, seen
    assert opened_log == closed_log and len(opened_log.splitlines()) == total + 1


# -- two runs on one chart ----------------------------------------------------------------------------------------------
def test_the_previous_run_stays_as_an_overlay_until_cleared(ui):
    ui.fresh(20)
    ui.step(3)
    ui.answer_dialogs = True  # "discard the 3 steps trained?": yes
    ui.set('Embedding size', 32)
    ui.wait_status(0, 20)
    clear = ui.button('Clear overlay')
    expect(clear).to_be_visible()
    assert legend(ui) == ['loss', 'smoothed', 'previous run: n_embd 16 -> 32']
    assert ui.page.evaluate('[lossChart.size(), lossChart.overlaySize()]') == [0, 3]  # the 3 steps, faint
    assert "the previous run's moving average" in ui.page.get_by_role('img', name='Loss chart').get_attribute('aria-label')
    ui.set('Seed', 7)  # no steps on the n_embd 32 model: the overlay stays, labelled against the newest model
    ui.page.wait_for_function('() => lossChart.legend().join().includes("seed 42 -> 7")', timeout=STEP_TIMEOUT)
    assert legend(ui) == ['loss', 'smoothed', 'previous run: n_embd 16 -> 32, seed 42 -> 7']
    ui.step(2)
    ui.button('Reset').click()  # the same settings again: the run just made becomes the overlay
    ui.page.wait_for_function('() => lossChart.legend().join().includes("same settings")', timeout=STEP_TIMEOUT)
    assert legend(ui) == ['loss', 'smoothed', 'previous run: same settings']
    assert ui.page.evaluate('lossChart.overlaySize()') == 2  # the run just made replaced the older overlay
    clear.click()
    expect(clear).to_be_hidden()
    assert legend(ui) == ['loss', 'smoothed'] and ui.page.evaluate('lossChart.overlaySize()') == 0
    ui.step()
    assert ui.page.evaluate('lossChart.hasOverlay()') is False
    assert ui.errors == []


# -- with edited code (the Code panel) ---------------------------------------------------------------------------------
def test_a_run_of_edited_code_has_its_validation_loss_from_step_0_and_its_views(browser, site_url, names):
    from microgpt.edits import edited
    from test_code_panel import CodePage
    squared_relu = ('x = [xi.relu() for xi in x]', 'x = [xi.relu() ** 2 for xi in x]')
    cp = CodePage(browser, site_url)
    try:
        cp.page.get_by_role('checkbox', name=VALIDATION, exact=True).check()
        cp.fresh(20)
        cp.code_button('Edit').click()
        path = 'microgpt/model.py'
        sources = cp.texts()
        sources[path] = sources[path].replace(*squared_relu)
        cp.paste(path, sources[path])
        cp.train_with_code()
        cp.wait_status(20, 20, timeout=120_000)  # it trains on
        points = cp.page.evaluate('lossChart.validationPoints()')
        assert [step for step, _ in points] == [0, 20]
        native = Trainer(Config(validation=True, num_steps=20), names, code=edited(sources))
        expected = [native.validation_loss()]
        native.train(20)
        expected.append(native.validation_loss())
        assert [loss for _, loss in points] == pytest.approx(expected, rel=1e-9)  # the edited code's
        cp.page.get_by_role('textbox', name='Prefix', exact=True).fill('ma')
        expect(cp.page.locator('#next-note')).to_contain_text('After “ma”', timeout=STEP_TIMEOUT)
        assert cp.errors == []
    finally:
        cp.close()
