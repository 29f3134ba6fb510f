"""Finding a Chromium for the browser tests and benchmarks, here or on a user's machine."""
import http.server
import os
import shutil
import threading
import time
from pathlib import Path

CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']
HOW_TO_GET_ONE = ('no Chromium found for the browser tests. Either install one: `apt-get install -y chromium` '
                  '(Debian/Ubuntu), or `python -m playwright install chromium`; or point MICROGPT_CHROMIUM '
                  'at a Chromium or Chrome executable.')


def _playwright_chromium():
    """The browser `playwright install chromium` downloaded, if any."""
    try:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:
        return None
    return path if path and Path(path).exists() else None


def find_chromium():
    """MICROGPT_CHROMIUM, else a system Chromium/Chrome, else Playwright's own; None when there is none.

    Returns '' for "Playwright's bundled browser" (launch without executable_path)."""
    env = os.environ.get('MICROGPT_CHROMIUM')
    if env:
        return env if Path(env).exists() else None
    for name in ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        path = shutil.which(name)
        if path:
            return path
    return '' if _playwright_chromium() else None


def launch(playwright, **kwargs):
    """Launch headless Chromium with the flags this project's machines need."""
    path = find_chromium()
    if path is None:
        raise RuntimeError(HOW_TO_GET_ONE)
    options = {'headless': True, 'args': CHROMIUM_ARGS, **kwargs}
    if path:
        options['executable_path'] = path
    return playwright.chromium.launch(**options)


# -- a repeat visit: the worker's Pyodide snapshot already kept --------------------------------------------------
# The first start of the page in a browser profile makes the worker's Pyodide memory snapshot (two Pyodide starts
# and a 31 MB copy, web/worker/start_pyodide.mjs) and keeps it in Cache Storage; every later start reads it. Each
# test's context is a new profile, so each test paid for a first start (test_page.py's page loads took half as long
# with the snapshot kept: median 23 s instead of 49 s, both on the same overloaded 2-core machine). RepeatVisits makes the snapshot once, in a context of its own, and puts those bytes under
# the same key in each new context before the test opens it: every page then starts as a repeat visit does.
# The first visit itself is tested by test_start.py, in contexts with nothing kept (`first_visit_browser`).
SNAPSHOT_CACHE = 'microgpt-pyodide-snapshot'  # web/worker/start_pyodide.mjs
SNAPSHOT_MIN_BYTES = 10_000_000  # a snapshot is Pyodide's whole memory, about 31 MB
SEND_SNAPSHOT = f"""async ([depot, min]) => {{
    const cache = await caches.open('{SNAPSHOT_CACHE}');
    const keys = await cache.keys();
    if (keys.length !== 1) return null;
    const bytes = await (await cache.match(keys[0])).arrayBuffer();
    if (bytes.byteLength < min) return null;
    await fetch(depot, {{ method: 'POST', mode: 'no-cors', body: bytes }});
    return keys[0].url;
}}"""
KEEP_SNAPSHOT = f"""async ([depot, key]) => {{
    const cache = await caches.open('{SNAPSHOT_CACHE}');
    await cache.put(key, await fetch(depot));
}}"""


class _Depot(http.server.BaseHTTPRequestHandler):
    """One file in memory: POST stores it, GET serves it to any origin (CORS)."""
    data = b''

    def do_POST(self):
        type(self).data = self.rfile.read(int(self.headers['Content-Length']))
        self.send_response(204)
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.send_header('Access-Control-Allow-Origin', '*')
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(len(self.data)))
        self.end_headers()
        self.wfile.write(self.data)

    def log_message(self, format, *args):
        pass


class RepeatVisits:
    """A Browser (Playwright's methods) whose every new context already keeps the site's Pyodide snapshot, made
    once by the site itself in a context of its own; new_page makes a context per page, as Browser.new_page does
    (closed after its page, at the next new_page or close)."""

    def __init__(self, browser, site_url, timeout=180):
        self._browser, self._site_url = browser, site_url
        self._own = []  # contexts made by new_page
        handler = type('Depot', (_Depot,), {})
        self._depot = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        threading.Thread(target=self._depot.serve_forever, daemon=True).start()
        self._depot_url = 'http://127.0.0.1:%d/snapshot' % self._depot.server_address[1]
        context = browser.new_context()
        try:
            context.new_page().goto(site_url)  # the page's worker starts: the first start makes and keeps the snapshot
            page = self._site_document(context)  # (the page's own policy allows no fetch to another origin)
            deadline = time.monotonic() + timeout
            while not (key := page.evaluate(SEND_SNAPSHOT, [self._depot_url, SNAPSHOT_MIN_BYTES])):
                if time.monotonic() > deadline:
                    raise RuntimeError(f'the page kept no Pyodide snapshot within {timeout} s')
                page.wait_for_timeout(200)
            self._key = key
        finally:
            context.close()

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        page = self._site_document(context)
        page.evaluate(KEEP_SNAPSHOT, [self._depot_url, self._key])
        page.close()
        return context

    def _site_document(self, context):
        """A page on a document of the site's origin (which owns the Cache Storage) that runs none of its code."""
        page = context.new_page()
        page.goto(self._site_url + 'favicon.svg')
        return page

    def new_page(self, **options):
        self._close_unused()
        context = self.new_context(**options)
        self._own.append(context)
        return context.new_page()

    def _close_unused(self):
        for context in [c for c in self._own if not c.pages]:
            self._own.remove(context)
            context.close()

    def close(self):
        self._depot.shutdown()
        self._depot.server_close()

    def __getattr__(self, name):  # the rest of Browser's methods
        return getattr(self._browser, name)
