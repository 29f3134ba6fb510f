"""Share (issue 10): the state in the URL fragment, links that open the same run, the Share panel, datasets in a
link (packed, from a URL, the reference's names.txt) and hostile links. Through the page's accessible names."""
import base64
import html
import json
import re
import shutil
import zlib
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import expect

import build
from microgpt import links
from conftest import ROOT, pyodide_cli
from hostile import LARGEST_LINKS, REFUSED_LINKS
from test_page import LOAD_TIMEOUT, Page

REFERENCE_URL = 'https://raw.githubusercontent.com/karpathy/makemore/refs/heads/master/names.txt'
NAMES_TXT = ROOT.parent / 'shared' / 'data' / 'names.txt'
if not NAMES_TXT.exists():
    NAMES_TXT = Path('/work/shared/data/names.txt')
SMALL = 'n_embd=8&num_steps=20&seed=7'  # a small, quick model
CORS = {'access-control-allow-origin': '*'}


class LinkPage(Page):
    """test_page's Page, opened in a given context (or browser) at a URL with a fragment."""

    def __init__(self, where, url):
        self.origin = '{0.scheme}://{0.netloc}'.format(urlsplit(url))
        self.page = page = where.new_page()
        page.set_viewport_size({'width': 1366, 'height': 900})
        self.errors, self.outside, self.dialogs = [], [], []
        page.on('console', lambda m: self.errors.append(m.text) if m.type == 'error' else None)
        page.on('pageerror', lambda e: self.errors.append(str(e)))
        page.on('request', self._request)
        page.on('dialog', self._dialog)
        self.answer_dialogs = False
        page.goto(url)
        self.wait_enabled('Train')

    def fragment(self):
        return urlsplit(self.page.url).fragment

    def dataset(self):
        return self.page.get_by_label('Dataset')

    def share(self):
        return self.page.get_by_role('region', name='Share')

    def link(self):
        return self.share().get_by_role('textbox', name='Link').input_value()


def packed(text, level=9):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    data = c.compress(text.encode('utf-8')) + c.flush()
    return base64.urlsafe_b64encode(data).decode().rstrip('=')


@pytest.fixture
def context(browser):
    c = browser.new_context()
    yield c
    c.close()


# -- 1. the state in the URL ---------------------------------------------------------------------------------------
def test_a_link_restores_settings_dataset_and_engine_before_the_first_step(context, site_url):
    ui = LinkPage(context, site_url + '#' + SMALL + '&learning_rate=0.02&data=pokemon&engine=efficient')
    ui.wait_status(0, 20)
    for label, value in (('Embedding size', '8'), ('Heads', '4'), ('Steps', '20'), ('Seed', '7'),
                         ('Learning rate', '0.02'), ('Layers', '1')):
        expect(ui.field(label)).to_have_value(value)
    expect(ui.dataset()).to_have_value('pokemon')
    expect(ui.page.locator('#data-summary')).to_contain_text('Pokémon')
    expect(ui.page.get_by_label('Engine')).to_have_value('efficient')
    expect(ui.page.locator('#params')).to_have_text(re.compile(r'^[\d,]+$'))
    assert ui.alert.inner_text() == ''
    assert ui.fragment() == SMALL.replace('num_steps=20&seed=7', 'num_steps=20&learning_rate=0.02&seed=7') + \
        '&data=pokemon&engine=efficient'
    ui.step()
    assert ui.errors == [] and ui.outside == []


def test_changes_are_written_to_the_url_without_new_history_entries(context, site_url):
    ui = LinkPage(context, site_url)
    assert ui.fragment() == ''
    length = ui.page.evaluate('history.length')
    ui.set('Seed', 7)
    expect(ui.page).to_have_url(re.compile(r'#seed=7$'))
    ui.set('Learning rate', '0.010')  # the default, written another way: not in the link
    ui.dataset().select_option('cats')
    expect(ui.page).to_have_url(re.compile(r'#seed=7&data=cats$'))
    ui.page.get_by_label('Engine').select_option('efficient')
    expect(ui.page).to_have_url(re.compile(r'#seed=7&data=cats&engine=efficient$'))
    ui.set('Seed', 42)
    expect(ui.page).to_have_url(re.compile(r'#data=cats&engine=efficient$'))
    assert ui.page.evaluate('history.length') == length
    ui.set('Heads', 3)  # invalid (16 is not a multiple of 3): not written
    expect(ui.alert).to_contain_text('divisible')
    assert 'n_head' not in ui.fragment()


def test_two_pages_from_one_link_download_identical_logs(browser, site_url, tmp_path):
    url = site_url + '#' + SMALL + '&data=states&engine=efficient'
    logs = []
    for i in range(2):
        context = browser.new_context()
        ui = LinkPage(context, url)
        ui.wait_status(0, 20)
        ui.button('Train').click()
        ui.wait_status(20, 20)
        (tmp_path / str(i)).mkdir()
        logs.append(ui.download_log(tmp_path / str(i)))
        context.close()
    assert logs[0] == logs[1]
    rows = logs[0].splitlines()
    assert rows[0] == 'step,loss,learning_rate' and len(rows) == 21
    # ...and it is this link's run: the default seed gives another one
    context = browser.new_context()
    ui = LinkPage(context, url.replace('seed=7', 'seed=8'))
    ui.step(3)
    (tmp_path / 'other').mkdir()
    assert ui.download_log(tmp_path / 'other').splitlines()[1] != rows[1]
    context.close()


def test_links_work_under_a_sub_path(browser, sub_path_url):
    ui = LinkPage(browser, f'{sub_path_url}#{SMALL}&data=cats')
    ui.wait_status(0, 20)
    expect(ui.dataset()).to_have_value('cats')
    assert ui.link().startswith(f'{sub_path_url}#')
    ui.step()
    assert ui.errors == [] and ui.outside == []
    ui.close()


# -- bad links -----------------------------------------------------------------------------------------------------
ZIP_BOMB = packed('a' * (11 * 1024 * 1024))  # longer than a packed word list may be: refused before it inflates
CODE_BOMB = packed(json.dumps({'microgpt/model.py': 'a' * (links.MAX_CODE_BYTES + 1)}))  # short, inflates past it
TOO_LONG = {kind: 'z:' + 'A' * (limit - 1) for kind, limit in links.MAX_PACKED.items()}  # one over the limit
WIDE = packed('\n'.join(chr(0x4e00 + i) for i in range(501)))
HOSTILE = [
    ('foo=1', "'foo': is not a setting"),
    ('n_layer=abc', "'n_layer': must be a whole number"),
    ('learning_rate=NaN', "'learning_rate': must be a finite number"),
    ('learning_rate=-Infinity', "'learning_rate': must be a finite number"),
    ('n_layer=1e400', "'n_layer': must be a whole number"),
    ('block_size=99999999999999999999999', "'block_size': must be between 1 and 128"),
    ('n_head=3', "'n_head': must be divisible by n_head (8 is not a multiple of 3)"),
    ('temperature=0', "'temperature': must be in [0.01, 10]"),
    ('data=z:@@not*base64', 'data: the word list in the link is not base64url'),
    ('data=z:' + 'A' * 40, 'data: the word list in the link is not valid compressed data'),
    ('data=z:' + ZIP_BOMB, f'data: the word list in the link is {len(ZIP_BOMB) + 2:,} characters long (the limit '
                           f'is {links.MAX_PACKED["data"]:,})'),
    ('data=' + TOO_LONG['data'], f'data: the word list in the link is {links.MAX_PACKED["data"] + 1:,} characters long'),
    ('code=z:' + CODE_BOMB, 'code: the code in the link inflates past the 256 KB code limit'),
    ('code=' + TOO_LONG['code'], f'code: the code in the link is {links.MAX_PACKED["code"] + 1:,} characters long '
                                 f'(the limit is {links.MAX_PACKED["code"]:,})'),
    ('data=z:' + WIDE, 'uses 501 distinct characters; the limit is 500'),
    ('data=dogs', "data: 'dogs' is not a dataset"),
    ('data=url:javascript:alert(1)', 'javascript:alert(1) is not an https: address'),
    ('data=url:data:text/plain,abc', 'data:text/plain,abc is not an https: address'),
    ('data=z:' + 'A' * 20_000, "'data' is 20,007 characters long (the limit is 16,000)"),
    ('engine=turbo', "'turbo' is not an engine"),
    ('lock=everything', "lock: 'everything' is not known"),
    ('hide=%3Cscript%3E', "hide: '<script>' is not known"),
    ('learning_rate=%E0%A4%A', "'learning_rate' is not valid URL encoding"),
    ('%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E=1', "'<img src=x onerror=alert(1)>': is not a setting"),
    ('seed=9', "'seed' appears twice"),
]


@pytest.mark.parametrize('part,message', HOSTILE, ids=[f'{i}-{p[:24]}' for i, (p, _) in enumerate(HOSTILE)])
def test_a_bad_part_is_named_and_the_rest_applies(context, site_url, part, message):
    ui = LinkPage(context, f'{site_url}#{SMALL}&data=cats&{part}'.replace('data=cats&data', 'data'))
    expect(ui.alert).to_contain_text(message)
    expect(ui.alert).to_contain_text('The rest of the link was applied.')
    ui.wait_status(0, 20)  # the settings of the link apply, a model is ready
    expect(ui.field('Seed')).to_have_value('7')
    if not part.startswith('data='):
        expect(ui.dataset()).to_have_value('cats')
    ui.step()
    assert ui.dialogs == []
    assert ui.page.locator('#alert *, #lesson-title *, #lesson-note *, img').count() == 0


@pytest.mark.parametrize('fragment,message', REFUSED_LINKS, ids=[f'{i}-{len(f)}' for i, (f, _) in enumerate(REFUSED_LINKS)])
def test_a_link_too_long_or_of_too_many_parts_is_refused_whole_in_one_message(context, site_url, fragment, message):
    ui = LinkPage(context, f'{site_url}#{fragment}')  # waits (generously) until Train is enabled
    expect(ui.alert).to_have_text(f'This link was not applied: {message}. The page opened with its defaults.')
    expect(ui.status).to_contain_text('step 0 / 1000')
    assert ui.fragment() == ''  # the address bar shows the page's state again
    expect(ui.field('Layers')).to_have_value('1')
    ui.step()
    assert ui.dialogs == [] and ui.errors == []


@pytest.mark.parametrize('fragment,message', LARGEST_LINKS, ids=[f'{i}-{len(f)}' for i, (f, _) in enumerate(LARGEST_LINKS)])
def test_the_costliest_links_within_the_limits_give_a_ready_page(context, site_url, fragment, message):
    ui = LinkPage(context, f'{site_url}#{fragment}')
    if message:
        expect(ui.alert).to_contain_text(message)
        assert len(ui.alert.inner_text()) < 3000  # a long list of ignored parts is cut, with their number
    else:
        assert ui.alert.inner_text() == ''
    ui.step()
    assert ui.dialogs == [] and ui.errors == []


def test_html_in_every_text_part_is_shown_as_text(context, site_url):
    evil = '<img src=x onerror=alert(1)><script>alert(2)</script>'
    words = packed('<b>bold</b>\n<i>x</i>\nabc\n')
    e = quote(evil, safe='')
    ui = LinkPage(context, f'{site_url}#title={e}&note={e}&data=z:{words}&{e}=1')
    expect(ui.page.locator('#lesson-title')).to_have_text(evil)
    expect(ui.page.locator('#lesson-note')).to_have_text(evil)
    expect(ui.page.locator('#data-examples')).to_contain_text('<b>bold</b>')
    expect(ui.alert).to_contain_text('<img src=x onerror=alert(1)>')
    assert ui.page.locator('img, b, i, #lesson script').count() == 0
    assert ui.dialogs == [] and ui.errors == []


# -- framed by another site (clickjacking) ---------------------------------------------------------------------------
FRAMER = ('<!doctype html><meta charset="utf-8"><title>another site</title>'
          '<iframe id="site" src="{src}" width="1300" height="1000"></iframe>')


def squared_relu_link(site_url):
    from test_code_panel import MODEL, squared_relu
    return f'{site_url}#{SMALL}&code=z:' + packed(json.dumps({MODEL: squared_relu()}))


def test_framed_by_another_site_the_page_refuses_a_links_code_and_load_model(context, site_url, tmp_path):
    link = squared_relu_link(site_url)
    other = tmp_path / 'other-site'
    other.mkdir()
    (other / 'index.html').write_text(FRAMER.format(src=html.escape(link)))
    server, other_url = build.serve_in_background(other)  # another port: another origin
    try:
        page = context.new_page()
        page.goto(other_url)
        framed = page.frame_locator('#site')
        expect(framed.get_by_role('button', name='Train', exact=True)).to_be_enabled(timeout=LOAD_TIMEOUT)
        expect(framed.get_by_role('alert')).to_contain_text(
            'code: not offered: this page is shown inside another site, which could trick the clicks that load it')
        expect(framed.get_by_role('status')).to_contain_text('step 0 / 20')  # the rest of the link applied
        expect(framed.get_by_role('group', name=re.compile('This link carries edited code'))).to_be_hidden()
        (tmp_path / 'run.json').write_text('{}')
        framed.get_by_label('Load model', exact=True).set_input_files(str(tmp_path / 'run.json'))
        expect(framed.get_by_role('alert')).to_have_text(
            'Load model is off: this page is shown inside another site, which could trick the clicks that load it: '
            'open the page in a tab of its own.')
        page.close()
    finally:
        server.shutdown()
        server.server_close()
    # the same link in a tab of its own: the code is offered
    own = LinkPage(context, link)
    expect(own.page.get_by_role('group', name=re.compile('This link carries edited code'))).to_be_visible()
    # ...and framed by a page of its own site too (a frame of the same origin cannot trick anything ours cannot)
    own.page.route('**/__test/framer.html', lambda r: r.fulfill(body=FRAMER.format(src=html.escape(link)),
                                                                content_type='text/html'))
    own.page.goto(site_url + '__test/framer.html')
    framed = own.page.frame_locator('#site')
    expect(framed.get_by_role('group', name=re.compile('This link carries edited code'))).to_be_visible(
        timeout=LOAD_TIMEOUT)


# -- 2. the Share panel ----------------------------------------------------------------------------------------------
def test_share_panel_builds_a_link_that_locks_hides_and_titles(context, site_url):
    ui = LinkPage(context, site_url)
    share = ui.share()
    ui.set('Seed', 7)
    expect(share.get_by_role('textbox', name='Link')).to_have_value(re.compile(r'#seed=7$'))
    share.get_by_text('Lock and hide').click()
    share.get_by_role('group', name='Lock').get_by_role('checkbox', name='Seed').check()
    share.get_by_role('group', name='Lock').get_by_role('checkbox', name='Dataset choice').check()
    share.get_by_role('group', name='Hide').get_by_role('checkbox', name='Verify button').check()
    share.get_by_role('textbox', name='Title').fill('Lesson 3: <learning rates>')
    share.get_by_role('textbox', name='Instructions').fill('Change only the learning rate & train 20 steps')
    link = ui.link()
    assert link.startswith(site_url + '#seed=7&lock=seed,data&hide=verify&title=Lesson%203:%20%3Clearning')
    qr = share.get_by_role('img', name='QR code of the link')
    expect(qr.locator('svg path')).to_have_attribute('d', re.compile(r'^M\d+ \d+h1v1h-1z'))
    assert ui.fragment() == 'seed=7'  # the panel's choices are for the link, not for this page
    ui.close()

    student = LinkPage(context, link)
    expect(student.page.locator('#lesson-title')).to_have_text('Lesson 3: <learning rates>')
    expect(student.page.locator('#lesson-note')).to_have_text('Change only the learning rate & train 20 steps')
    expect(student.field('Seed')).to_have_value('7')
    expect(student.field('Seed')).not_to_be_editable()
    expect(student.field('Learning rate')).to_be_editable()
    expect(student.dataset()).to_be_disabled()
    expect(student.page.get_by_label('Upload word list')).to_be_hidden()
    expect(student.button('Verify')).to_be_hidden()
    assert student.alert.inner_text() == ''
    student.set('Learning rate', 0.02)
    expect(student.page).to_have_url(re.compile(r'#learning_rate=0.02&seed=7&lock=seed,data&hide=verify&title='))


def test_copy_link_puts_the_link_on_the_clipboard(browser, site_url):
    context = browser.new_context(permissions=['clipboard-read', 'clipboard-write'])
    ui = LinkPage(context, site_url + '#seed=5')
    ui.button('Copy link').click()
    expect(ui.share()).to_contain_text('Copied')
    assert ui.page.evaluate('navigator.clipboard.readText()') == site_url + '#seed=5'
    context.close()


def test_copy_link_refused_leaves_the_link_selected(context, site_url):
    context.add_init_script('navigator.clipboard.writeText = () => Promise.reject(new DOMException("no", "NotAllowedError"))')
    ui = LinkPage(context, site_url + '#seed=5')
    ui.button('Copy link').click()
    expect(ui.share()).to_contain_text('refused the clipboard')
    field = ui.share().get_by_role('textbox', name='Link')
    expect(field).to_be_focused()
    selected = ui.page.evaluate('() => { const f = document.activeElement; return f.value.slice(f.selectionStart, f.selectionEnd) }')
    assert selected == site_url + '#seed=5'


# -- 3. datasets in a link --------------------------------------------------------------------------------------------
def test_pasted_words_travel_inside_the_link(context, site_url):
    ui = LinkPage(context, site_url + '#' + SMALL)
    ui.page.locator('summary', has_text='Paste').click()
    ui.page.get_by_label('Words to train on').fill('zebra\nyak\nxerus\nwombat\nvole\nquokka é ü\n')
    ui.button('Use pasted text').click()
    expect(ui.page.locator('#data-summary')).to_contain_text('6 documents')
    expect(ui.page).to_have_url(re.compile(r'&data=z:[A-Za-z0-9_-]+$'))
    link = ui.page.url
    summary, chips = ui.dataset_summary(), ui.page.locator('#data-examples').inner_text()
    other = LinkPage(context, link)
    other.wait_status(0, 20)
    expect(other.page.locator('#data-summary')).to_have_text(summary.replace('pasted text', 'the word list in the link'))
    assert other.page.locator('#data-examples').inner_text() == chips
    assert other.alert.inner_text() == ''


def test_a_large_word_list_is_refused_for_the_link_with_its_size(context, site_url):
    import random
    rng = random.Random(1)
    words = '\n'.join(''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(8)) for _ in range(3000))
    ui = LinkPage(context, site_url + '#seed=3')
    ui.upload('big.txt', words.encode())
    expect(ui.page.locator('#data-summary')).to_contain_text('3,000 documents')
    expect(ui.share()).to_contain_text(re.compile(r'big.txt \(26,999 bytes\) is too large to travel inside a link: '
                                                  r'packed it takes [\d,]+ characters, the limit is 6,000. Host the file'))
    assert 'data=' not in ui.fragment()


def route_words(context, url, body, status=200, headers=None, content_type='text/plain'):
    context.route(url, lambda route: route.fulfill(status=status, body=body, content_type=content_type,
                                                   headers={**CORS, **(headers or {})}))


def test_load_from_url_shows_the_host_then_uses_the_list_and_links_it(context, site_url):
    held = []
    context.route('https://words.example.org/animals.txt', lambda route: held.append(route))
    ui = LinkPage(context, site_url + '#' + SMALL)
    ui.page.get_by_label('Load from URL').fill('https://words.example.org/animals.txt')
    ui.button('Load').click()
    expect(ui.page.get_by_text('Loading from words.example.org…')).to_be_visible()
    held[0].fulfill(body='ant\nbee\ncat\ndog\n', content_type='text/plain; charset=utf-8', headers=CORS)
    expect(ui.page.locator('#data-summary')).to_contain_text('4 documents')
    expect(ui.dataset().locator('option:checked')).to_have_text('From words.example.org: animals.txt')
    expect(ui.page).to_have_url(re.compile(r'&data=url:https://words.example.org/animals.txt$'))
    link = ui.page.url
    route_words(context, 'https://words.example.org/animals.txt', 'ant\nbee\ncat\ndog\n')
    other = LinkPage(context, link)
    other.wait_status(0, 20)
    expect(other.page.locator('#data-summary')).to_contain_text('4 documents')


URL_ERRORS = [
    ({'status': 404, 'body': 'gone'}, 'answered HTTP 404'),
    ({'body': 'a\nb\n', 'headers': {'access-control-allow-origin': 'https://elsewhere.example'}}, 'CORS'),
    ({'body': 'PNG', 'content_type': 'image/png'}, 'is not text (its type is image/png)'),
    ({'body': 'a\n' * (5 * 1024 * 1024 + 10)}, 'is larger than the 10 MB limit'),
    ({'body': b'\xff\xfe\xfa\x00 binary'}, 'is not UTF-8 text'),
]


@pytest.mark.parametrize('reply,message', URL_ERRORS, ids=[m[:20] for _, m in URL_ERRORS])
def test_load_from_url_errors_name_the_url_and_keep_the_dataset_and_model(context, site_url, reply, message):
    url = 'https://words.example.org/list.txt'
    if reply.get('headers'):
        context.route(url, lambda route: route.fulfill(body=reply['body'], headers=reply['headers']))
    else:
        route_words(context, url, **reply)
    ui = LinkPage(context, site_url + '#' + SMALL + '&data=cats')
    ui.step(2)
    summary = ui.dataset_summary()
    ui.page.get_by_label('Load from URL').fill(url)
    ui.button('Load').click()
    expect(ui.alert).to_contain_text(url, timeout=30_000)  # a 10 MB reply takes seconds on a loaded machine
    expect(ui.alert).to_contain_text(message)
    expect(ui.alert).to_contain_text('The current dataset and model are kept.')
    assert ui.dataset_summary() == summary
    ui.wait_status(2, 20)
    expect(ui.dataset()).to_have_value('cats')
    assert ui.dialogs == []


def test_load_from_url_that_never_answers_times_out(context, site_url):
    context.route('https://slow.example.org/**', lambda route: None)  # held: never answered
    ui = LinkPage(context, site_url + '#' + SMALL)
    ui.page.get_by_label('Load from URL').fill('https://slow.example.org/words.txt')
    ui.button('Load').click()
    expect(ui.page.get_by_text('Loading from slow.example.org…')).to_be_visible()
    expect(ui.alert).to_contain_text('https://slow.example.org/words.txt did not answer within 20 s', timeout=60_000)
    ui.wait_status(0, 20)
    expect(ui.page.locator('#data-summary')).to_contain_text('English first names')


# -- 4. the reference's names.txt ----------------------------------------------------------------------------------
@pytest.mark.skipif(not NAMES_TXT.exists(), reason=f'{NAMES_TXT} (the reference names.txt) is absent')
def test_reference_names_txt_trains_as_pyodide_does_and_is_kept(context, site_url, dist_dir, tmp_path):
    shutil.copy(NAMES_TXT, tmp_path / 'names.txt')
    expected = pyodide_cli(dist_dir, tmp_path, '--input', 'names.txt', '--log', 'pyodide.csv', '--steps', 20,
                           '--samples', 0)  # in the background, while the page trains
    context.route(REFERENCE_URL, lambda route: route.fulfill(path=str(NAMES_TXT), content_type='text/plain',
                                                              headers=CORS))
    ui = LinkPage(context, site_url + '#num_steps=20')
    option = ui.dataset().locator('option', has_text=re.compile('^names.txt'))
    assert option.inner_text() == "names.txt (the reference's 32,033 names, from GitHub)"
    ui.dataset().select_option(label=option.inner_text())
    expect(ui.page.locator('#data-summary')).to_contain_text('names.txt · 32,033 documents')
    expect(ui.page).to_have_url(re.compile(r'#num_steps=20&data=names.txt$'))
    ui.wait_status(0, 20)
    ui.button('Train').click()
    ui.wait_status(20, 20, timeout=120_000)
    expected.succeeded()
    assert ui.download_log(tmp_path) == (tmp_path / 'pyodide.csv').read_text()
    # kept in Cache Storage: opened again with the network refused, it still loads
    context.unroute(REFERENCE_URL)
    context.route(REFERENCE_URL, lambda route: route.abort())
    again = LinkPage(context, ui.page.url)
    expect(again.page.locator('#data-summary')).to_contain_text('names.txt · 32,033 documents')
    assert again.alert.inner_text() == ''


PLANT_DATASET = """async ([address, text]) => {
    const cache = await caches.open('microgpt-datasets');
    await cache.put(address, new Response(text, { headers: { 'content-type': 'text/plain' } }));
}"""
KEPT_DATASET = """address => caches.open('microgpt-datasets').then(c => c.match(address)).then(r => r ? r.text() : null)"""


@pytest.mark.skipif(not NAMES_TXT.exists(), reason=f'{NAMES_TXT} (the reference names.txt) is absent')
def test_a_planted_names_txt_is_never_used_and_is_replaced(context, site_url):
    # a script with the site's rights puts other words in the cache under the reference's address
    context.route(REFERENCE_URL, lambda route: route.fulfill(path=str(NAMES_TXT), content_type='text/plain',
                                                              headers=CORS))
    first = LinkPage(context, site_url + '#' + SMALL)
    first.page.evaluate(PLANT_DATASET, [REFERENCE_URL, 'planted\nwords\n'])
    ui = LinkPage(context, site_url + '#' + SMALL + '&data=names.txt')
    expect(ui.page.locator('#data-summary')).to_contain_text('names.txt · 32,033 documents')
    assert ui.alert.inner_text() == ''
    assert ui.page.evaluate(KEPT_DATASET, REFERENCE_URL) == NAMES_TXT.read_text(encoding='utf-8')  # replaced
    # the address itself sending other words: refused, and nothing is kept
    ui.page.evaluate(f"caches.open('microgpt-datasets').then(c => c.delete({REFERENCE_URL!r}))")
    context.unroute(REFERENCE_URL)
    context.route(REFERENCE_URL, lambda route: route.fulfill(body='planted\nwords\n', content_type='text/plain',
                                                              headers=CORS))
    other = LinkPage(context, site_url + '#' + SMALL + '&data=names.txt')
    expect(other.alert).to_contain_text(REFERENCE_URL + ' sent another file than the one expected (228,145 bytes')
    expect(other.page.locator('#data-summary')).to_contain_text('English first names')
    assert other.page.evaluate(KEPT_DATASET, REFERENCE_URL) is None


def test_a_dataset_from_a_url_comes_back_after_restart(context, site_url):
    from test_hardening import KILL_WORKER
    route_words(context, 'https://words.example.org/birds.txt', 'owl\nwren\nkite\nrook\ntern\n')
    ui = LinkPage(context, site_url + '#' + SMALL + '&data=url:https://words.example.org/birds.txt')
    expect(ui.page.locator('#data-summary')).to_contain_text('5 documents')
    summary = ui.dataset_summary()
    context.unroute('https://words.example.org/birds.txt')
    context.route('https://words.example.org/**', lambda route: route.abort())  # the restart needs no network
    ui.page.evaluate(KILL_WORKER)
    ui.button('Step').click()
    ui.button('Restart').click()
    ui.wait_enabled('Train')
    assert ui.dataset_summary() == summary
    ui.step()
    expect(ui.page).to_have_url(re.compile(r'&data=url:https://words.example.org/birds.txt$'))
