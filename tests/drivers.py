"""One small interface to a page in three browser engines, for tests/test_browsers.py and benchmarks/browsers.py.

`start(name)` opens a browser with one tab: a `Tab` that can goto, reload, click, fill, read text, evaluate and
wait. Each engine is driven the way its stock build allows:

- chromium: Playwright (tests/browser.py's `find_chromium`: Debian's, Playwright's own, or MICROGPT_CHROMIUM).
- firefox: Debian's `firefox-esr` (or MICROGPT_FIREFOX) over WebDriver BiDi, which it speaks natively on a
  WebSocket (`--remote-debugging-port`): Playwright's BiDi mode needs a newer Firefox than ESR (it sends
  commands ESR 153 does not know). Without one, Playwright's own Firefox (`playwright install firefox`).
- webkit: `WebKitWebDriver` (Debian's webkit2gtk-driver, or MICROGPT_WEBKITWEBDRIVER) driving libwebkit2gtk's
  MiniBrowser, W3C WebDriver over HTTP, under `xvfb-run` with LANG=en_US.UTF-8 (with C.UTF-8
  `navigator.language` is "C"; the locale need not be generated). Without one, Playwright's own WebKit.

Every value crosses as JSON (`evaluate` returns what `JSON.stringify` makes of the script's result), so a test
reads the same Python values from every engine.
"""
import glob
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BROWSERS = ('chromium', 'firefox', 'webkit')
HOW_TO_GET = {
    'chromium': 'apt-get install -y chromium, or `python -m playwright install chromium`, or MICROGPT_CHROMIUM',
    'firefox': 'apt-get install -y firefox-esr, or `python -m playwright install firefox`, or MICROGPT_FIREFOX',
    'webkit': 'apt-get install -y webkit2gtk-driver xvfb, or `python -m playwright install webkit`, '
              'or MICROGPT_WEBKITWEBDRIVER',
}
# the script's result as JSON: the same Python values from every engine (undefined becomes null)
WRAP = 'async (json) => JSON.stringify((await (%s)(...JSON.parse(json))) ?? null)'
CENTRE = '''(selector) => { const e = document.querySelector(selector);
  if (!e) throw new Error('no element ' + selector);
  e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();
  return [Math.round(r.x + r.width / 2), Math.round(r.y + r.height / 2)]; }'''
TEXT = "(selector) => { const e = document.querySelector(selector); return e ? e.innerText : null; }"
TAB_KEY = '\ue004'
# a field typed in is left as a focused window leaves it: its change event (headless Firefox's window never has the
# focus, so it fires none when the field loses it)
CHANGED = '''(s) => { const e = document.querySelector(s);
  if (!document.hasFocus()) e.dispatchEvent(new Event('change', {bubbles: true})); }'''
KEYS = {'Control': '\ue009', 'Shift': '\ue008', 'End': '\ue010', 'Home': '\ue011', 'Tab': TAB_KEY}


def chord_actions(chord):
    """WebDriver key actions for a chord such as 'Control+End' (keys down in order, up in reverse)."""
    keys = [KEYS.get(k, k) for k in chord.split('+')]
    return [{'type': 'keyDown', 'value': k} for k in keys] + [{'type': 'keyUp', 'value': k} for k in reversed(keys)]


class Tab:
    """One tab of a browser; subclasses say how to reach it."""
    name = version = ''

    def evaluate(self, script, *args):
        """Call the JavaScript function `script` (it may be async) with JSON-able args; its result as JSON."""
        return json.loads(self._call(WRAP % script, json.dumps(args)))

    def text(self, selector):
        return self.evaluate(TEXT, selector)

    def keys(self, *chords):
        """Press key chords ('Control+End') on whatever has the focus."""
        self._actions({'type': 'key', 'id': 'keyboard',
                       'actions': [a for chord in chords for a in chord_actions(chord)]})

    def type(self, text):
        """Type text, key by key, into whatever has the focus (a newline is Enter)."""
        self._actions({'type': 'key', 'id': 'keyboard', 'actions': [
            {'type': kind, 'value': '\ue007' if key == '\n' else key} for key in text for kind in ('keyDown', 'keyUp')]})

    def wait(self, script, *args, timeout=60, what=''):
        """Poll `script` until it returns something truthy; that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f'{self.name}: waited {timeout} s for {what or script}; last: {value!r}')
            time.sleep(0.2)


class PlaywrightTab(Tab):
    def __init__(self, name, playwright, browser):
        self.name, self._pw, self._browser = name, playwright, browser
        self.version = f'{name} {browser.version} (Playwright)'
        self._page = browser.new_page(viewport={'width': 1366, 'height': 900})

    def goto(self, url):
        self._page.goto(url)

    def reload(self):
        self._page.reload()

    def _call(self, function, arg):
        return self._page.evaluate(function, arg)

    def click(self, selector):
        self._page.click(selector)

    def fill(self, selector, text):
        self._page.fill(selector, text)
        self._page.press(selector, 'Tab')

    def keys(self, *chords):
        for chord in chords:
            self._page.keyboard.press(chord)

    def type(self, text):
        self._page.keyboard.type(text)

    def close(self):
        self._browser.close()
        self._pw.stop()


class BidiTab(Tab):
    """Firefox over WebDriver BiDi (a WebSocket; the `websockets` library's synchronous client)."""

    def __init__(self, executable):
        from websockets.sync.client import connect
        self.name, self._profile = 'firefox', tempfile.mkdtemp(prefix='microgpt-firefox-')
        self._proc = subprocess.Popen([executable, '--headless', '--no-remote', '--profile', self._profile,
                                       '--remote-debugging-port=0', '--width=1366', '--height=900'],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True)
        url = None
        for line in self._proc.stderr:
            found = re.search(r'WebDriver BiDi listening on (ws://\S+)', line)
            if found:
                url = found.group(1)
                break
        if url is None:
            raise RuntimeError(f'{executable} did not start WebDriver BiDi')
        self._ws = connect(url + '/session', max_size=None, open_timeout=60)
        self._ids = itertools.count(1)
        caps = self._send('session.new', capabilities={})['capabilities']
        self.version = f'Firefox {caps["browserVersion"]} (WebDriver BiDi)'
        self._context = self._send('browsingContext.getTree')['contexts'][0]['context']

    def _send(self, method, **params):
        message_id = next(self._ids)
        self._ws.send(json.dumps({'id': message_id, 'method': method, 'params': params}))
        while True:  # events are not subscribed to: only answers arrive
            answer = json.loads(self._ws.recv())
            if answer.get('id') == message_id:
                if answer.get('type') == 'error':
                    raise RuntimeError(f'{method}: {answer.get("error")}: {answer.get("message")}')
                return answer['result']

    def goto(self, url):
        self._send('browsingContext.navigate', context=self._context, url=url, wait='complete')

    def reload(self):
        self._send('browsingContext.reload', context=self._context, wait='complete')

    def _call(self, function, arg):
        result = self._send('script.callFunction', functionDeclaration=function, awaitPromise=True,
                            arguments=[{'type': 'string', 'value': arg}], target={'context': self._context})
        if result['type'] == 'exception':
            raise RuntimeError('JavaScript: ' + result['exceptionDetails']['text'])
        return result['result']['value']

    def _actions(self, *sources):
        self._send('input.performActions', context=self._context, actions=list(sources))

    def click(self, selector):
        x, y = self.evaluate(CENTRE, selector)
        self._actions({'type': 'pointer', 'id': 'mouse', 'parameters': {'pointerType': 'mouse'},
                       'actions': [{'type': 'pointerMove', 'x': x, 'y': y}, {'type': 'pointerDown', 'button': 0},
                                   {'type': 'pointerUp', 'button': 0}]})

    def fill(self, selector, text):
        """Empty the field, type the text key by key, then Tab out of it (the field's change event)."""
        self.click(selector)
        keys = [{'type': kind, 'value': key} for key in str(text) + TAB_KEY for kind in ('keyDown', 'keyUp')]
        self._actions({'type': 'key', 'id': 'keyboard', 'actions': chord_actions('Control+a') + keys})
        self.evaluate(CHANGED, selector)

    def close(self):
        try:
            self._send('browser.close')
        except Exception:
            pass
        self._ws.close()
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        shutil.rmtree(self._profile, ignore_errors=True)


ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'


class WebDriverTab(Tab):
    """WebKit: WebKitWebDriver (W3C WebDriver over HTTP) driving MiniBrowser, under xvfb-run with a real LANG."""

    def __init__(self, driver, browser):
        self.name = 'webkit'
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        env = {**os.environ, 'LANG': 'en_US.UTF-8', 'LC_ALL': 'en_US.UTF-8'}
        xvfb = [] if os.environ.get('DISPLAY') else ['xvfb-run', '-a', '-s', '-screen 0 1366x900x24']
        self._proc = subprocess.Popen([*xvfb, driver, f'--port={port}'], env=env, start_new_session=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._base = f'http://127.0.0.1:{port}'
        for _ in range(300):
            try:
                self._http('GET', '/status')
                break
            except OSError:
                time.sleep(0.1)
        options = {'binary': browser, 'args': ['--automation']}
        answer = self._http('POST', '/session', {'capabilities': {'alwaysMatch': {
            'browserName': 'MiniBrowser', 'webkitgtk:browserOptions': options}}})
        self._session = '/session/' + answer['sessionId']
        self.version = f'WebKitGTK {answer["capabilities"]["browserVersion"]} (MiniBrowser, WebKitWebDriver)'
        self._http('POST', self._session + '/timeouts', {'script': 600_000, 'pageLoad': 600_000})
        self._http('POST', self._session + '/window/rect', {'width': 1366, 'height': 900})

    def _http(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=900) as response:
                return json.loads(response.read())['value']
        except urllib.error.HTTPError as e:
            value = json.loads(e.read())['value']
            raise RuntimeError(f'{method} {path}: {value.get("error")}: {value.get("message")}') from None

    def goto(self, url):
        self._http('POST', self._session + '/url', {'url': url})

    def reload(self):
        self._http('POST', self._session + '/refresh', {})

    def _call(self, function, arg):
        script = f'return ({function})(arguments[0]);'
        return self._http('POST', self._session + '/execute/sync', {'script': script, 'args': [arg]})

    def _element(self, selector):
        self.evaluate(CENTRE, selector)  # scrolled into view, or a clear error
        found = self._http('POST', self._session + '/element', {'using': 'css selector', 'value': selector})
        return f'{self._session}/element/{found[ELEMENT]}'

    def click(self, selector):
        self._http('POST', self._element(selector) + '/click', {})

    def _actions(self, *sources):
        self._http('POST', self._session + '/actions', {'actions': list(sources)})
        self._http('DELETE', self._session + '/actions')

    def fill(self, selector, text):
        element = self._element(selector)
        self._http('POST', element + '/clear', {})
        self._http('POST', element + '/value', {'text': str(text) + TAB_KEY})
        self.evaluate(CHANGED, selector)

    def close(self):
        try:
            self._http('DELETE', self._session)
        except Exception:
            pass
        try:
            os.killpg(self._proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self._proc.wait(timeout=30)


# -- finding a browser --------------------------------------------------------------------------------------------
def _playwright_has(name):
    try:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            path = getattr(p, name).executable_path
    except Exception:
        return False
    return bool(path) and os.path.exists(path)


def _env_path(variable):
    path = os.environ.get(variable)
    return path if path and os.path.exists(path) else None


def find(name):
    """How to drive `name` here: ('playwright', path or '' for Playwright's own), ('bidi', firefox),
    ('webdriver', (driver, MiniBrowser)); None when there is none."""
    if name == 'chromium':
        from browser import find_chromium
        path = find_chromium()
        return None if path is None else ('playwright', path)
    if name == 'firefox':
        path = _env_path('MICROGPT_FIREFOX') or shutil.which('firefox-esr') or shutil.which('firefox')
        if path:
            return ('bidi', path)
    if name == 'webkit':
        driver = _env_path('MICROGPT_WEBKITWEBDRIVER') or shutil.which('WebKitWebDriver')
        browsers = sorted(glob.glob('/usr/lib/*/webkit2gtk-4.*/MiniBrowser'))
        if driver and browsers and (os.environ.get('DISPLAY') or shutil.which('xvfb-run')):
            return ('webdriver', (driver, browsers[-1]))
    return ('playwright', '') if _playwright_has(name) else None


def start(name):
    """A browser `name` with one tab; fails with how to get one when there is none."""
    how = find(name)
    if how is None:
        raise RuntimeError(f'no {name} found for the browser tests: {HOW_TO_GET[name]}')
    kind, where = how
    if kind == 'bidi':
        return BidiTab(where)
    if kind == 'webdriver':
        return WebDriverTab(*where)
    from playwright.sync_api import sync_playwright
    playwright = sync_playwright().start()
    try:
        if name == 'chromium':
            from browser import launch
            browser = launch(playwright)
        else:
            browser = getattr(playwright, name).launch(headless=True)
    except Exception:
        playwright.stop()
        raise
    return PlaywrightTab(name, playwright, browser)
