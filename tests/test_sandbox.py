"""Confinement (issue 18, item 2): edited code runs in the sandboxed worker (web/js/sandbox.js), where it reaches
nothing of the site: not its Cache Storage, IndexedDB or service worker, not the page, not the network.

The edited microgpt/model.py below starts every reach of tests/hostile.py's SANDBOX_REACHES when it is imported,
then, once they have all settled, fails a training step with what each did: the page shows that as the edit's error
(file, line, message), which is how the test reads it. The page itself can reach the same address and storage (the
control), and receives none of the messages the edited code posts.
"""
import base64
import hashlib
import json
import re

from playwright.sync_api import expect

from hostile import SANDBOX_POSTS, SANDBOX_REACHES
from test_code_panel import MODEL, CodePage, edit, offer, squared_relu
from test_keep import wait_stored
from test_page import LOAD_TIMEOUT

PROBE = '''
import asyncio as _asyncio
import json as _json

import js
from pyodide.ffi import create_proxy as _proxy

SITE = {site!r}
_REACHED, _VIOLATIONS = {{}}, []
js.self.addEventListener('securitypolicyviolation', _proxy(
    lambda e: _VIOLATIONS.append(str(e.effectiveDirective) + ' ' + str(e.blockedURI))))


async def opened(socket):
    done = _asyncio.get_event_loop().create_future()
    socket.onopen = _proxy(lambda e: done.done() or done.set_result('open'))
    socket.onerror = _proxy(lambda e: done.done() or done.set_exception(ConnectionError('error event')))
    return await _asyncio.wait_for(done, 10)


async def _try(name, reach):
    try:
        _REACHED[name] = 'reached: ' + str(await reach())[:80]
    except BaseException as e:
        _REACHED[name] = 'refused: ' + type(e).__name__


{reaches}

{posts}

for _name, _reach in _REACHES.items():
    _asyncio.get_event_loop().create_task(_try(_name, _reach))


def _report():
    if len(_REACHED) == len(_REACHES):
        raise RuntimeError('REACHES ' + _json.dumps({{'reached': _REACHED, 'violations': _VIOLATIONS}}))
'''


def probe_source(site):
    reaches = '\n\n'.join(f'async def _reach_{i}():\n    {body}\n' for i, body in enumerate(SANDBOX_REACHES.values()))
    table = '_REACHES = {%s}' % ', '.join(f'{name!r}: _reach_{i}' for i, name in enumerate(SANDBOX_REACHES))
    posts = '\n'.join(f'try:\n    {post}\nexcept BaseException:\n    pass' for post in SANDBOX_POSTS)
    return PROBE.format(site=site, reaches=reaches + '\n\n' + table, posts=posts)


LISTEN = '''() => {
  window.__received = [];
  window.addEventListener('message', (e) => window.__received.push('window: ' + JSON.stringify(e.data)));
  new BroadcastChannel('microgpt').onmessage = (e) => window.__received.push('channel: ' + JSON.stringify(e.data));
}'''
CONTROL = '''async (site) => ({
  fetch: (await fetch(site)).status, caches: (await caches.keys()).length >= 0,
  indexeddb: await new Promise((ok) => { const r = indexedDB.open('microgpt'); r.onsuccess = () => ok(true); r.onerror = () => ok(false); }),
})'''


def probing_model(site):
    anchor = '        loss = self._forward(tokens)\n'
    sources, _ = edit(MODEL, anchor, '        _report()\n' + anchor)
    return sources[MODEL] + probe_source(site)


def reached_nothing(cp):
    """Wait for the probe's report beside the editor; check that every reach was refused."""
    expect(cp.message()).to_contain_text('REACHES', timeout=LOAD_TIMEOUT)
    found = json.loads(re.search(r'REACHES (\{.*\})', cp.message().inner_text()).group(1))
    reached = found['reached']
    assert sorted(reached) == sorted(SANDBOX_REACHES)
    assert {name: how for name, how in reached.items() if not how.startswith('refused')} == {}
    # the network reaches were refused by the frame's policy (connect-src 'none'), not only by a missing API
    blocked = ' '.join(found['violations'])
    for directive in ('connect-src', 'script-src'):
        assert directive in blocked, found['violations']
    assert cp.page.locator('iframe[sandbox="allow-scripts"]').count() == 1  # it ran in the sandbox
    assert cp.page.evaluate('window.__received') == []
    expect(cp.page.locator('#restart')).to_be_hidden()  # the failed step left the worker alive


def test_edited_code_reaches_nothing_of_the_site(browser, site_url):
    cp = CodePage(browser, site_url)
    try:
        cp.page.evaluate(LISTEN)
        assert cp.page.evaluate(CONTROL, site_url) == {'fetch': 200, 'caches': True, 'indexeddb': True}
        caches_before = cp.page.evaluate('caches.keys()')
        cp.fresh(1000)
        cp.code_button('Edit').click()
        cp.paste(MODEL, probing_model(site_url))
        cp.train_with_code()
        reached_nothing(cp)
        assert cp.page.evaluate('caches.keys()') == caches_before
    finally:
        cp.close()


def test_a_saved_runs_code_runs_in_the_sandbox_when_loaded_and_resumed(browser, site_url, tmp_path):
    cp = CodePage(browser, site_url)
    try:
        cp.fresh(30)
        cp.code_button('Edit').click()
        cp.paste(MODEL, squared_relu())
        cp.train_with_code()
        cp.wait_status(30, 30, timeout=120_000)
        with cp.page.expect_download() as info:
            cp.button('Save model').click()
        info.value.save_as(tmp_path / 'run.json')
    finally:
        cp.close()
    state = json.loads((tmp_path / 'run.json').read_text())
    state['code'] = {MODEL: probing_model(site_url)}  # same shapes: the weights still fit
    state['config']['num_steps'] = 1000
    (tmp_path / 'probe.json').write_text(json.dumps(state))
    cp = CodePage(browser, site_url)
    try:
        cp.page.evaluate(LISTEN)
        assert cp.page.locator('iframe[sandbox="allow-scripts"]').count() == 0  # the shipped code: no sandbox
        cp.page.get_by_label('Load model', exact=True).set_input_files(str(tmp_path / 'probe.json'))
        offer(cp).get_by_role('button', name='Load this code').click()  # consent first: nothing of it ran before
        cp.wait_status(30, 1000)
        cp.button('Train').click()
        reached_nothing(cp)
        wait_stored(cp, lambda step: step >= 30, timeout=120_000)  # stored: the reload then offers it
        cp.page.reload()  # the autosave of that run: Resume runs its code in the sandbox as well
        cp.wait_enabled('Train')
        cp.page.evaluate(LISTEN)
        cp.button('Resume').click()
        offer(cp).get_by_role('button', name='Load this code').click()  # Resume asks too
        cp.wait_text(MODEL, state['code'][MODEL])
        cp.wait_enabled('Train')
        cp.button('Train').click()
        reached_nothing(cp)
    finally:
        cp.close()


# -- a sandboxed worker that dies is noticed (issue 18, item 4) ------------------------------------------------------
DEATH_AT = 40  # steps (the test pauses before, so the run is autosaved)
DEATHS = {
    # a recursion through C (a slot calling itself), past a raised limit: the JavaScript stack overflows
    'the JavaScript stack overflowed': ('import sys\nsys.setrecursionlimit(10 ** 7)\n\n\nclass _Deep:\n'
                                        '    def __add__(self, other):\n        return self + other\n\n\n'
                                        'def _die():\n    _Deep() + 1\n'),
    'it exited with status 1': 'import os\n\n\ndef _die():\n    os._exit(1)\n',
}


def dying_model(how):
    anchor = '        loss = self._forward(tokens)\n'
    sources, _ = edit(MODEL, anchor, f'        if step >= {DEATH_AT}:\n            _die()\n' + anchor)
    return sources[MODEL] + '\n\n' + DEATHS[how]


def test_a_sandboxed_worker_that_dies_is_noticed_and_restart_restores_the_autosave(browser, site_url):
    cp = CodePage(browser, site_url)
    try:
        cp.fresh(1000)
        for how in DEATHS:
            cp.button('Reset').click()  # a model of the shipped code: back in the PyScript worker
            cp.wait_status(0, 1000)
            assert cp.page.locator('iframe[sandbox="allow-scripts"]').count() == 0
            if cp.code_button('Edit').is_enabled():  # (after a restored run of edited code, it is on)
                cp.code_button('Edit').click()
            cp.paste(MODEL, dying_model(how))
            cp.train_with_code()
            cp.page.wait_for_function('() => /step ([1-9]\\d) /.test(document.getElementById("status").textContent)',
                                      timeout=LOAD_TIMEOUT)
            cp.button('Pause').click()  # autosaved on Pause
            cp.wait_enabled('Train')
            cp.button('Train').click()
            expect(cp.alert).to_contain_text(f'The Python worker running your code died ({how})',
                                             timeout=LOAD_TIMEOUT)
            restart = cp.button('Restart')
            expect(restart).to_be_visible()
            lost = int(re.search(r'The model of (\d+) steps is lost', cp.alert.inner_text()).group(1))
            assert 10 <= lost <= DEATH_AT
            restart.click()
            expect(cp.alert).to_contain_text('with the run restored from its last autosave', timeout=LOAD_TIMEOUT)
            saved = cp.step_numbers()[0]
            assert 0 < saved <= DEATH_AT
            cp.wait_text(MODEL, dying_model(how))  # the restored run's code, in a fresh sandboxed worker
            assert cp.page.locator('iframe[sandbox="allow-scripts"]').count() == 1
            if saved < DEATH_AT:
                cp.step(1)  # the restored run trains on
    finally:
        cp.close()


GLOBAL_ERROR = '''

import js as _js

_js.setTimeout(_js.JSON.parse, 0, '{')  # a timer whose callback throws (a SyntaxError), in the global scope
'''


def test_an_error_in_a_workers_global_scope_is_not_a_death(browser, site_url):
    """An error thrown in the global scope of the PyScript worker, or of the sandboxed one (edited code can do it),
    leaves Python alive: the page does not call the worker gone, and it trains on."""
    cp = CodePage(browser, site_url)
    errors, warnings = [], []
    cp.page.on('pageerror', lambda e: errors.append(str(e)))
    cp.page.on('console', lambda m: warnings.append(m.text) if m.type == 'warning' else None)
    try:
        cp.fresh(1000)
        (worker,) = cp.page.workers  # the PyScript worker
        worker.evaluate('setTimeout(() => { throw new Error("thrown in the global scope") }, 0)')
        cp.page.wait_for_timeout(3000)
        expect(cp.page.locator('#restart')).to_be_hidden()
        expect(cp.alert).to_have_text('')
        cp.step(2)
        assert [e for e in errors if 'TypeError' in e] == []
        assert any('reported an error: Uncaught Error: thrown in the global scope' in w for w in warnings)

        cp.code_button('Edit').click()
        cp.paste(MODEL, squared_relu() + GLOBAL_ERROR)
        cp.train_with_code()
        cp.page.wait_for_function('() => /step ([3-9]\\d) /.test(document.getElementById("status").textContent)',
                                  timeout=LOAD_TIMEOUT)
        expect(cp.page.locator('#restart')).to_be_hidden()
        expect(cp.alert).to_have_text('')
        assert any(w.startswith('sandboxed worker: Uncaught SyntaxError') for w in warnings)  # it was thrown
    finally:
        cp.close()


def test_the_sandboxed_frame_has_a_policy_of_its_own_allowed_by_the_pages(dist_dir):
    """The frame's one inline script is allowed by its hash, in the page's policy (which the srcdoc inherits) and in
    the frame's own, which lets nothing be fetched, connected to or evaluated."""
    from test_guards import csp_of
    frame = (dist_dir / 'sandbox_frame.html').read_text(encoding='utf-8')
    (script,) = re.findall(r'<script>(.*?)</script>', frame, re.S)
    digest = "'sha256-%s'" % base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    page = csp_of((dist_dir / 'index.html').read_text(encoding='utf-8'))
    own = csp_of(frame)
    assert digest in page['script-src']
    assert own['script-src'] == [digest, "'wasm-unsafe-eval'"]
    assert own['default-src'] == own['connect-src'] == ["'none'"]
    assert own['worker-src'] == ['blob:']
    assert "'unsafe-eval'" not in own['script-src'] and "'unsafe-inline'" not in own['script-src']
    sandbox_js = (dist_dir / 'sandbox.js').read_text(encoding='utf-8')
    assert re.findall(r'setAttribute\("sandbox", "([^"]*)"\)', sandbox_js) == ['allow-scripts']
