"""Start-up and training speed of the page in WebKit (Safari's engine) beside Chromium, in one run: prints figures.

    python benchmarks/webkit.py [--rounds R] [--seconds S] [--dist DIR]

WebKit is WebKitGTK's MiniBrowser driven by WebKitWebDriver (W3C WebDriver over HTTP, urllib) under `xvfb-run`
with LANG=en_US.UTF-8 (Debian: webkit2gtk-driver, xvfb); Chromium is tests/browser.py's. For each round and each
browser, taking turns, in a new profile: a first visit (seconds from navigation to Train enabled) of a link to the
efficient engine (n_embd 16, names), trained for S seconds: its steps per second over the seconds 10 to S after
Train; then a repeat visit (the snapshot and the offline copy kept); the page's "microgpt:" marks of both visits. The machine is
shared: compare the browsers within a run, not with another hour's figures.

MICROGPT_WEBKIT_ENV (e.g. JSC_useWasmIPInt=false,JSC_useWasmLLInt=false) passes JavaScriptCore options to WebKit,
for diagnosis only (no user can set them).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tests'))

import build  # noqa: E402

MINIBROWSERS = ['/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser',
                '/usr/libexec/webkit2gtk-4.1/MiniBrowser', '/usr/libexec/webkit2gtk-4.0/MiniBrowser']
READY = ("const b = document.getElementById('train');"
         " return !!(b && !b.disabled && document.getElementById('status').textContent.indexOf('Loading') < 0);")
MARKS = "return performance.getEntriesByType('mark').filter(e => e.name.startsWith('microgpt:'))" \
        ".map(e => [e.name.slice(9), e.startTime])"
STEP = "const m = /step (\\d+)/.exec(document.getElementById('status').textContent); return m ? +m[1] : 0;"
TRAIN = "document.getElementById('train').click();"
LINK = '#engine=efficient&num_steps=100000'


class WebKit:
    """A MiniBrowser session through WebKitWebDriver: run(script), go(url), close()."""

    def __init__(self):
        binary = next((p for p in MINIBROWSERS if Path(p).exists()), None)
        if binary is None:
            raise SystemExit('no MiniBrowser: apt-get install webkit2gtk-driver (libwebkit2gtk-4.1-0)')
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        extra = os.environ.get('MICROGPT_WEBKIT_ENV', '')
        env = dict(os.environ, LANG='en_US.UTF-8', **dict(kv.split('=', 1) for kv in extra.split(',') if kv))
        self.driver = subprocess.Popen(['xvfb-run', '-a', 'WebKitWebDriver', f'--port={port}'], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.base = f'http://127.0.0.1:{port}'
        for _ in range(200):
            try:
                urllib.request.urlopen(self.base + '/status', timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        options = {'binary': binary, 'args': ['--automation']}
        self.base += '/session/' + self.call('POST', '/session', {
            'capabilities': {'alwaysMatch': {'webkitgtk:browserOptions': options}}})['sessionId']

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=900) as response:
                return json.loads(response.read())['value']
        except urllib.error.HTTPError as err:
            raise RuntimeError(err.read().decode()) from None

    def run(self, script):
        return self.call('POST', '/execute/sync', {'script': script, 'args': []})

    def go(self, url):
        self.call('POST', '/url', {'url': url})

    def close(self):
        try:
            self.call('DELETE', '')
        finally:
            os.killpg(self.driver.pid, 15)


class Chromium:
    """The same three calls on headless Chromium (Playwright)."""

    def __init__(self, playwright):
        from browser import launch
        self.browser = launch(playwright)
        self.page = self.browser.new_page()

    def run(self, script):
        return self.page.evaluate('() => { ' + script + ' }')

    def go(self, url):
        self.page.goto(url)

    def close(self):
        self.browser.close()


def ready(b, url, timeout=900):
    """Seconds from navigation to ready, and the page's marks (ms)."""
    t0 = time.perf_counter()
    b.go(url)
    while not b.run(READY):
        if time.perf_counter() - t0 > timeout:
            raise SystemExit('not ready in %d s' % timeout)
        time.sleep(0.05)
    return time.perf_counter() - t0, b.run(MARKS)


def steps_per_second(b, seconds):
    """Steps per second of the efficient engine (the page is ready) from 10 s after Train to `seconds` after it,
    and in the first 10 s."""
    b.run(TRAIN)
    t0 = time.perf_counter()
    time.sleep(10)
    s0, t1 = b.run(STEP), time.perf_counter()
    time.sleep(seconds - 10)
    s1, t2 = b.run(STEP), time.perf_counter()
    return (s1 - s0) / (t2 - t1), s0 / (t1 - t0)


def one_browser(name, make, url, seconds):
    b = make()
    try:
        first, first_marks = ready(b, url + LINK)
        rate, early = steps_per_second(b, seconds)
        b.go('about:blank')
        reload, reload_marks = ready(b, url)
    finally:
        b.close()
    marks = lambda ms: ', '.join(f'{n} {t / 1000:.1f}' for n, t in ms)  # noqa: E731
    print(f'{name}: first visit {first:.1f} s ({marks(first_marks)})', flush=True)
    print(f'{name}: repeat visit {reload:.1f} s ({marks(reload_marks)})', flush=True)
    print(f'{name}: efficient {rate:.1f} steps/s from 10 s to {seconds} s ({early:.1f} in the first 10 s)', flush=True)
    return {'first': first, 'reload': reload, 'rate': rate}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=1)
    parser.add_argument('--seconds', type=int, default=30)
    parser.add_argument('--dist', type=Path, default=build.DIST, help='a built site (default: dist/, built now)')
    args = parser.parse_args()
    if args.dist == build.DIST:
        subprocess.run([sys.executable, str(ROOT / 'build.py')], check=True, stdout=subprocess.DEVNULL)
    server, url = build.serve_in_background(args.dist)
    from playwright.sync_api import sync_playwright
    results = {'webkit': [], 'chromium': []}
    with sync_playwright() as p:
        for _ in range(args.rounds):
            results['webkit'].append(one_browser('webkit', WebKit, url, args.seconds))
            results['chromium'].append(one_browser('chromium', lambda: Chromium(p), url, args.seconds))
    server.shutdown()
    print('\nmedians (WebKit / Chromium):')
    for key, what in (('first', 'first visit, s'), ('reload', 'repeat visit, s'), ('rate', 'efficient steps/s')):
        w, c = (statistics.median(r[key] for r in results[n]) for n in ('webkit', 'chromium'))
        print(f'  {what}: {w:.2f} / {c:.2f} = {w / c:.2f}x')


if __name__ == '__main__':
    main()
