"""Start-up: the worker's Pyodide starts from a memory snapshot (web/worker/start_pyodide.mjs), made on the first start
in a browser and kept in Cache Storage; a snapshot that is missing, damaged or cannot be kept never stops the
page. Exactness with the snapshot is the log and golden tests' business: every page starts from one.

The module is tested in a bare module worker of its own (each start a new worker, as each visit is), and in
the page (the first visit makes the snapshot, the next one starts from it).
"""
import pytest
from playwright.sync_api import expect

from test_keep import poll
from test_page import Page

CACHE = 'microgpt-pyodide-snapshot'  # web/worker/start_pyodide.mjs
# a module worker that starts Pyodide through the site's start_pyodide.mjs and reports how it started
START_WORKER = """
import { loadPyodide } from "../start_pyodide.mjs";
onmessage = async ({ data }) => {
  try {
    if (data.noCacheStorage) Object.defineProperty(globalThis, "caches", { value: undefined });
    // how many times Pyodide's WebAssembly is compiled (from a response or bytes, not from a compiled module)
    let compiled = 0;
    const streaming = WebAssembly.instantiateStreaming, instantiate = WebAssembly.instantiate;
    const counting = (...args) => { compiled++; return streaming.apply(WebAssembly, args); };
    WebAssembly.instantiateStreaming = counting;
    WebAssembly.instantiate = (source, ...rest) => {
      if (!(source instanceof WebAssembly.Module)) compiled++;
      return instantiate.call(WebAssembly, source, ...rest);
    };
    const pyodide = await loadPyodide({});
    const restored = WebAssembly.instantiateStreaming === counting;  // the start put back what it changed?
    const how = performance.getEntriesByName("microgpt:pyodide-ready").at(-1).detail;
    postMessage({
      how,
      random: pyodide.runPython("import random\\nrandom.random()"),
      preloaded: pyodide.runPython("import sys\\n[m for m in ('asyncio', 'pyodide.http', 'json') if m in sys.modules]"
                                   ).toJs(),
      works: pyodide.runPython("sum(x * x for x in range(10))"),
      compiled,
      restored,
    });
  } catch (err) {
    postMessage({ error: String(err && err.stack || err) });
  }
};
"""
START_PAGE = """<!doctype html><meta charset="utf-8"><title>start</title>
<script type="module">
window.start = (data) => new Promise((resolve) => {
  const w = new Worker("./start_worker.mjs", { type: "module" });
  w.onmessage = (e) => { resolve(e.data); w.terminate(); };
  w.postMessage(data || {});
});
</script>"""
# the stored snapshot's size in bytes (0: none)
STORED_SIZE = f"""async () => {{
    const cache = await caches.open('{CACHE}');
    const keys = await cache.keys();
    if (keys.length !== 1) return 0;
    return (await (await cache.match(keys[0])).arrayBuffer()).byteLength;
}}"""
DAMAGE = f"""async () => {{
    const cache = await caches.open('{CACHE}');
    const [key] = await cache.keys();
    await cache.put(key, new Response(new Uint8Array(4096).fill(7)));
}}"""
# the stored snapshot put under the key another build would use (web/worker/start_pyodide.mjs: snapshot-BUILD-...); the key
MOVE_TO_ANOTHER_BUILD = f"""async () => {{
    const cache = await caches.open('{CACHE}');
    const [key] = await cache.keys();
    const other = key.url.replace(/snapshot-[0-9a-f]{{16}}-/, 'snapshot-0123456789abcdef-');
    if (other === key.url) return null;
    await cache.put(other, await cache.match(key));
    await cache.delete(key);
    return other;
}}"""
SNAPSHOT_BYTES = 10_000_000  # a snapshot is Pyodide's whole memory, about 31 MB; a damaged one is 4 KB


@pytest.fixture
def bare(first_visit_browser, site_url):
    context = first_visit_browser.new_context()
    context.route('**/__test/start.html', lambda r: r.fulfill(body=START_PAGE, content_type='text/html'))
    context.route('**/__test/start_worker.mjs',
                  lambda r: r.fulfill(body=START_WORKER, content_type='text/javascript'))
    page = context.new_page()
    page.goto(site_url + '__test/start.html')
    yield page
    context.close()


def start(page, **data):
    answer = page.evaluate('data => start(data)', data)
    assert 'error' not in answer, answer['error']
    assert answer['works'] == 285
    return answer


def wait_stored(page):
    poll(page, f'async () => (await ({STORED_SIZE})()) > {SNAPSHOT_BYTES}')


def test_the_first_start_makes_a_snapshot_and_later_starts_use_it_with_their_own_random_seed(bare):
    first = start(bare)
    assert first['how'] == 'snapshot made'
    assert first['preloaded'] == ['asyncio', 'pyodide.http', 'json']
    # the maker and the snapshot's start share one compiled module (a second one starts cold in WebKit)
    assert first['compiled'] == 1
    assert first['restored']
    wait_stored(bare)
    second, third = start(bare), start(bare)
    assert second['how'] == third['how'] == 'snapshot'
    assert second['compiled'] == third['compiled'] == 1
    assert second['preloaded'] == ['asyncio', 'pyodide.http', 'json']
    # the snapshot holds the random module: each start reseeds it, or every visit would draw the same numbers
    assert len({first['random'], second['random'], third['random']}) == 3


def test_a_damaged_snapshot_is_made_again_and_the_start_goes_on(bare):
    start(bare)
    wait_stored(bare)
    bare.evaluate(DAMAGE)
    assert bare.evaluate(STORED_SIZE) == 4096
    remade = start(bare)
    assert remade['how'] == 'snapshot made'  # Pyodide refused it (not a snapshot): a new one
    assert remade['compiled'] == 1  # the refused start's module serves the maker and the new start
    wait_stored(bare)
    assert start(bare)['how'] == 'snapshot'


def test_a_snapshot_another_build_kept_is_not_started_from(bare):
    # nothing can tell a snapshot planted in Cache Storage from a genuine one (no hash is known before the browser
    # makes it): each build starts only from a snapshot under its own name, so a planted one dies with its build
    start(bare)
    wait_stored(bare)
    other = bare.evaluate(MOVE_TO_ANOTHER_BUILD)
    assert other and bare.evaluate(STORED_SIZE) > SNAPSHOT_BYTES
    assert start(bare)['how'] == 'snapshot made'
    wait_stored(bare)  # one snapshot again: this build's, the other build's deleted
    keys = bare.evaluate(f"caches.open('{CACHE}').then(c => c.keys()).then(ks => ks.map(k => k.url))")
    assert len(keys) == 1 and keys[0] != other


def test_without_cache_storage_every_start_makes_its_snapshot(bare):
    for _ in range(2):
        assert start(bare, noCacheStorage=True)['how'] == 'snapshot made'
    assert bare.evaluate(STORED_SIZE) == 0


def worker_start(page):
    """How the page's Pyodide worker started (its microgpt:pyodide-ready mark)."""
    for worker in page.workers:
        how = worker.evaluate("performance.getEntriesByName('microgpt:pyodide-ready').map(e => e.detail)")
        if how:
            return how[-1]
    return None


def test_the_page_makes_the_snapshot_on_the_first_visit_and_starts_from_it_on_the_next(first_visit_browser, site_url):
    ui = Page(first_visit_browser, site_url)
    try:
        assert worker_start(ui.page) == 'snapshot made'
        wait_stored(ui.page)
        ui.page.reload()
        ui.wait_enabled('Train')
        assert worker_start(ui.page) == 'snapshot'
        ui.fresh(3)
        ui.button('Train').click()
        ui.wait_status(3, 3)
        assert ui.errors == []
    finally:
        ui.close()


def test_the_other_tests_pages_start_as_a_repeat_visit_does(browser, site_url):
    # conftest.py's `browser` keeps the snapshot the site made in each new context (browser.py's RepeatVisits)
    ui = Page(browser, site_url)
    try:
        assert worker_start(ui.page) == 'snapshot'
        assert ui.errors == []
    finally:
        ui.close()


# -- a start-up that cannot hang silently (issue 20): each failing step ends in words, not "Loading Python…" -------
THROWS = 'throw new RangeError("invalid language tag: C");'  # what uPlot threw in WebKit with LANG=C


def opened(browser, site_url, route, reply):
    """A page whose `route` is answered by `reply` (Playwright's fulfill arguments), not waited for."""
    context = browser.new_context(viewport={'width': 1366, 'height': 900})
    context.route(route, lambda r: r.fulfill(**reply))
    page = context.new_page()
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.goto(site_url)
    return context, page, errors


def test_a_chart_library_that_throws_leaves_a_page_that_trains_without_a_chart(browser, site_url):
    context, page, errors = opened(browser, site_url, '**/vendor/uplot/uPlot.iife.min.js',
                                   {'body': THROWS, 'content_type': 'text/javascript'})
    try:
        ui = Page.__new__(Page)  # test_page's helpers on this page
        ui.page, ui.errors, ui.outside, ui.dialogs, ui.answer_dialogs = page, errors, [], [], False
        ui.wait_enabled('Train')
        chart = page.locator('#chart')
        expect(chart).to_contain_text('The loss chart could not be drawn (Error: the chart library (uPlot) did not '
                                      'load). Everything else works')
        ui.fresh(3)
        ui.button('Train').click()
        ui.wait_status(3, 3)
        expect(page.locator('#samples li')).to_have_count(8)
        assert page.evaluate('lossChart.size()') == 3  # the losses are kept: a later chart could draw them
        assert errors == ['invalid language tag: C'], errors  # the library's own error, and nothing after it
    finally:
        context.close()


@pytest.mark.parametrize('script, message, whole', [
    ('worker.py', 'Python could not start: Error: [404] Unable to fetch ./worker.py. The page cannot train without '
                  'it; reload to try again.', True),
    ('start_pyodide.mjs', 'Python could not start: TypeError: Failed to fetch dynamically imported module', False),
])
def test_a_worker_file_that_fails_to_load_ends_in_words(browser, site_url, script, message, whole):
    context, page, _ = opened(browser, site_url, f'**/{script}', {'status': 404, 'body': 'not found'})
    try:
        expect(page.get_by_role('status')).to_have_text('Python could not start.', timeout=60_000)
        alert = expect(page.get_by_role('alert'))
        alert.to_have_text(message) if whole else alert.to_contain_text(message)
    finally:
        context.close()


def test_an_editor_that_fails_leaves_a_page_that_trains_and_says_so(browser, site_url):
    context, page, _ = opened(browser, site_url, '**/vendor/editor/editor.js',
                              {'body': 'throw new Error("broken (test)");', 'content_type': 'text/javascript'})
    try:
        expect(page.get_by_role('status')).to_contain_text('ready: press Train', timeout=60_000)
        expect(page.get_by_role('alert')).to_contain_text('The page started, but: The Code panel failed (')
        expect(page.get_by_role('alert')).to_contain_text('training works with the shipped code')
        page.get_by_role('button', name='Step', exact=True).click()
        expect(page.get_by_role('status')).to_contain_text('step 1 / 1000')
    finally:
        context.close()
