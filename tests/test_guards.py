"""Hardening (issue 13): long text never widens the page, no WCAG 2.1 AA violation (axe-core), and the page
works under its Content-Security-Policy.

Uses conftest.py's `site_url` and `browser` fixtures and test_page.py's `Page` helper. axe-core comes from
npm (a devDependency in package.json; `python build.py` installs it with the rest).
"""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from test_page import STEP_TIMEOUT, Page

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / 'node_modules' / 'axe-core' / 'axe.min.js'
WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']


@pytest.fixture
def ui(browser, site_url):
    p = Page(browser, site_url)
    yield p
    p.close()


# -- layout: long text is cut, never widens the page ------------------------------------------------------
# the elements whose right edge is past the window's, for the assertion message
PAST_THE_EDGE = '''() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(0, 8)
    .map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className} right=${e.getBoundingClientRect().right}`)'''


def assert_no_sideways_scroll(ui, when):
    width, inner = ui.page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')
    assert width <= inner, (f'{when}: the page is {width} px wide in a {inner} px window; past the edge: '
                            f'{ui.page.evaluate(PAST_THE_EDGE)}')


def assert_cut_with_full_text_on_hover(item, text):
    """One item of a list: its text in full in `title`, shown cut with an ellipsis when it does not fit."""
    assert item.get_attribute('title') == text
    cut = item.evaluate('e => [e.scrollWidth > e.clientWidth, getComputedStyle(e).textOverflow]')
    assert cut == [True, 'ellipsis'], (text[:80], cut)


SENTENCES = ['%d. A list of sentences is a dataset too, and each of these lines is far longer than a chip or a '
             'sample can show on one line of the page, narrow window or wide.' % i for i in range(40)]


def test_long_documents_and_samples_are_cut_not_widening_the_page(ui):
    ui.upload('sentences.txt', ('\n'.join(SENTENCES) + '\n').encode())
    expect(ui.page.locator('#data-summary')).to_contain_text('40 documents')
    assert_no_sideways_scroll(ui, 'a list of sentences')
    chips = ui.page.locator('#data-examples .chip')
    expect(chips).to_have_count(8)
    for chip in chips.all():
        assert_cut_with_full_text_on_hover(chip, chip.inner_text())
        assert chip.inner_text() in SENTENCES
    # samples as long as the block allows: a near-uniform (untrained, hot) model rarely draws BOS
    ui.set('Block size', 128)
    ui.set('Temperature', 10)
    ui.wait_enabled('Generate')
    ui.button('Generate').click()
    samples = ui.page.locator('#samples li')
    expect(samples).to_have_count(8, timeout=STEP_TIMEOUT)
    assert_no_sideways_scroll(ui, 'long samples')
    longest = max(samples.all(), key=lambda li: len(li.inner_text()))
    assert len(longest.inner_text()) > 110, ui.samples()  # longer than the samples' column (~920 px)
    assert_cut_with_full_text_on_hover(longest, longest.inner_text())
    for li in samples.all():
        assert li.get_attribute('title') == li.inner_text()
    # a phone, or a window made narrow after the chart was drawn
    ui.page.set_viewport_size({'width': 360, 'height': 800})
    ui.page.wait_for_function(  # the chart follows its box (a ResizeObserver)
        '() => document.querySelector("#chart .uplot").offsetWidth <= document.querySelector("#chart").clientWidth')
    assert_no_sideways_scroll(ui, 'a 360 px window')
    assert ui.errors == []


def test_a_one_megabyte_line_is_cut_not_widening_the_page(ui):
    line = 'abcab' * 200_000  # 1 MB, one document of three letters (under the 10 MB limit)
    ui.upload('one-line.txt', (line + '\n').encode())
    expect(ui.page.locator('#data-summary')).to_contain_text('1 document ·', timeout=STEP_TIMEOUT)
    assert_no_sideways_scroll(ui, 'one 1 MB line')
    chip = ui.page.locator('#data-examples .chip')
    expect(chip).to_have_count(1)
    assert_cut_with_full_text_on_hover(chip, line)
    ui.step()  # trains on it (cut to the block size)
    assert ui.errors == []


def test_long_messages_wrap_in_the_alert_line_and_the_summary(ui):
    name = 'a-file-name-with-no-spaces-' * 40 + '.txt'
    ui.upload(name, b'  \n\n')  # refused: the alert names the file
    expect(ui.alert).to_contain_text('no documents')
    expect(ui.alert).to_contain_text(name)
    assert_no_sideways_scroll(ui, 'a long file name in the alert')
    ui.upload(name, b'abc\nbca\n')  # accepted: the summary and the dataset menu name it
    expect(ui.page.locator('#data-summary')).to_contain_text('2 documents')
    assert_no_sideways_scroll(ui, 'a long file name in the summary and the dataset menu')
    ui.page.set_viewport_size({'width': 360, 'height': 800})
    assert_no_sideways_scroll(ui, 'a long file name in a 360 px window')
    widths = ui.page.locator('input[data-setting][type=text]').evaluate_all('fields => fields.map(f => f.offsetWidth)')
    assert min(widths) >= 96, f'settings fields squeezed in a 360 px window: {widths}'


# -- accessibility: axe-core, WCAG 2.1 A and AA ---------------------------------------------------------
def axe_violations(ui):
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line each."""
    if not ui.page.evaluate('typeof axe !== "undefined"'):
        ui.page.add_script_tag(content=AXE.read_text(encoding='utf-8'))
    result = ui.page.evaluate('tags => axe.run(document, {runOnly: {type: "tag", values: tags}})', WCAG_AA)
    return [f"{v['id']} ({v['impact']}): {v['help']}; " + '; '.join(
        f"{' '.join(map(str, n['target']))}: {n['failureSummary']}".replace('\n', ' ') for n in v['nodes'][:5])
        for v in result['violations']]


def assert_accessible(ui, when):
    violations = axe_violations(ui)
    assert violations == [], f'{when}: ' + '\n'.join(violations)


class _BypassingCSP:
    """The browser, but its pages ignore the page's Content-Security-Policy, which refuses the inline script
    that add_script_tag(content=...) injects axe-core with (CSP has its own test below)."""

    def __init__(self, browser):
        self.browser = browser

    def new_page(self, **options):
        return self.browser.new_page(bypass_csp=True, **options)


@pytest.fixture
def ui_axe(browser, site_url):
    p = Page(_BypassingCSP(browser), site_url)
    yield p
    p.close()


def test_axe_finds_no_wcag_aa_violation_loaded_training_and_in_error(ui_axe):
    ui = ui_axe
    assert_accessible(ui, 'loaded')
    ui.fresh(20)
    ui.step(3)
    ui.button('Generate').click()
    expect(ui.page.locator('#samples li')).to_have_count(8)
    assert_accessible(ui, 'after 3 steps and samples')
    ui.set('Heads', 3)  # 16 is not a multiple of 3: the error under the field and in the alert line
    expect(ui.page.locator('#err-n_head')).to_contain_text('not a multiple of 3')
    expect(ui.alert).to_contain_text('Heads')
    assert_accessible(ui, 'an invalid setting shown')
    ui.page.locator('summary', has_text='Advanced').click()
    ui.page.locator('summary', has_text='Paste').click()
    expect(ui.field('Beta 1')).to_be_visible()
    expect(ui.page.get_by_label('Words to train on')).to_be_visible()
    assert_accessible(ui, 'Advanced and the paste box open')
    ui.page.set_viewport_size({'width': 360, 'height': 800})
    assert_accessible(ui, 'a 360 px window')


# -- Content-Security-Policy ------------------------------------------------------------------------------
CSP_LISTENER = '''document.addEventListener('securitypolicyviolation', e => {
  (window.__cspViolations = window.__cspViolations || []).push(
    `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
});'''


class _ListeningBrowser:
    """The browser, but every page it opens reports CSP violations: the document's through the
    `securitypolicyviolation` event from its first script on, the worker's through the browser's log (CDP),
    where Chromium writes "... violates the following Content Security Policy directive ..."."""

    def __init__(self, browser):
        self.browser = browser
        self.logged = []

    def new_page(self, **options):
        page = self.browser.new_page(**options)
        page.add_init_script(CSP_LISTENER)
        cdp = page.context.new_cdp_session(page)
        cdp.on('Log.entryAdded', lambda e: self.logged.append(e['entry']['text'])
               if 'Content Security Policy' in e['entry']['text'] else None)
        cdp.send('Log.enable')
        return page


def csp_of(html):
    match = re.search(r'<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"', html)
    assert match, 'no Content-Security-Policy meta tag'
    return {d.split()[0]: d.split()[1:] for d in (d.strip() for d in match.group(1).split(';')) if d}


def test_served_page_has_a_strict_content_security_policy(site_url):
    from urllib.request import urlopen
    with urlopen(site_url) as response:
        csp = csp_of(response.read().decode('utf-8'))
    assert csp['object-src'] == ["'none'"]
    assert csp['default-src'] == ["'self'"]
    assert csp['base-uri'] == ["'self'"]
    assert "'unsafe-inline'" not in csp['script-src']
    assert "'wasm-unsafe-eval'" in csp['script-src']
    # https: only for fetching a word list the user asks for by its address (issue 10: Load from URL, names.txt)
    assert csp['connect-src'] == ["'self'", 'blob:', 'https:'], csp
    assert not any(s in ('*', 'http:', 'https:', 'data:') for name, sources in csp.items() if name != 'connect-src'
                   for s in sources), csp


def assert_no_csp_violation(ui, listening, when):
    violations = ui.page.evaluate('window.__cspViolations || []')
    console = [e for e in ui.errors if 'Content Security Policy' in e]
    assert violations == [] and console == [] and listening.logged == [], (
        f'{when}: {violations} {console} {listening.logged}')


def test_page_works_under_its_content_security_policy(browser, site_url):
    listening = _ListeningBrowser(browser)
    ui = Page(listening, site_url)
    ui.answer_dialogs = True  # a new dataset discards the trained steps: yes
    try:
        assert_no_csp_violation(ui, listening, 'loaded')
        ui.fresh(20)
        ui.step(3)
        ui.button('Generate').click()
        expect(ui.page.locator('#samples li')).to_have_count(8)
        assert_no_csp_violation(ui, listening, 'trained and sampled')
        ui.upload('abc.txt', b'abba\nbaba\ncab\n')  # the worker reads it through a blob: URL
        ui.page.wait_for_function(  # read, or refused
            '() => /abc.txt/.test(document.querySelector("#data-summary").textContent)'
            ' || document.querySelector("#alert").textContent')
        assert_no_csp_violation(ui, listening, 'uploaded')
        expect(ui.page.locator('#data-summary')).to_contain_text('abc.txt · 3 documents')
        ui.wait_status(0, 20)
        ui.step(2)
        ui.page.get_by_label('Dataset').select_option('cats')  # a preset, fetched by the worker
        expect(ui.page.locator('#data-summary')).to_contain_text('100 documents')
        ui.button('Download log').click()  # a blob: URL too
        assert_no_csp_violation(ui, listening, 'a preset and the log downloaded')
        assert ui.errors == [] and ui.alert.inner_text() == ''
        # the listener works: an inline script is refused and reported
        ui.page.evaluate('''() => { const s = document.createElement('script');
            s.textContent = 'window.__ran = 1'; document.head.appendChild(s); }''')
        ui.page.wait_for_function('(window.__cspViolations || []).length > 0')
        assert ui.page.evaluate('window.__ran') is None
    finally:
        ui.close()
