"""One small interface to a page in three browser engines, for tests/test_browsers.py and benchmarks/browsers.py.

`start(name)` opens a browser with one tab: a `Tab` that can goto, reload, click, fill, read text, evaluate and
wait. Each engine is driven the way its stock build allows:

- chromium: Playwright (tests/browser.py's `find_chromium`: Debian's, Playwright's own, or MICROGPT_CHROMIUM).
- firefox: Debian's `firefox-esr` (or MICROGPT_FIREFOX), headless, over WebDriver BiDi, which it speaks natively
  on a WebSocket (`--remote-debugging-port`; tests/webdriver.py): Playwright's BiDi mode needs a newer Firefox
  than ESR (1.65 sends `emulation.setMediaFeaturesOverride`, unknown to ESR 153). Without one, Playwright's own
  Firefox (`playwright install firefox`).
- webkit: `WebKitWebDriver` (Debian's webkit2gtk-driver, or MICROGPT_WEBKITWEBDRIVER) driving libwebkit2gtk's
  MiniBrowser, W3C WebDriver over HTTP (tests/webdriver.py), under `xvfb-run` with LANG=en_US.UTF-8 (with
  C.UTF-8 `navigator.language` is "C"; the locale need not be generated). Without one, Playwright's own WebKit.

Every value crosses as JSON (`evaluate` returns what `JSON.stringify` makes of the script's result), so a test
reads the same Python values from every engine.
"""
import glob
import json
import os
import shutil
import time

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
KEYS = {'Control': '\ue009', 'Shift': '\ue008', 'End': '\ue010', 'Home': '\ue011', 'Tab': TAB_KEY,
        'Escape': '\ue00c', 'Enter': '\ue007'}


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
        self._page.fill(selector, str(text))
        self._page.press(selector, 'Tab')

    def keys(self, *chords):
        for chord in chords:
            self._page.keyboard.press(chord)

    def type(self, text):
        self._page.keyboard.type(text)

    def close(self):
        self._browser.close()
        self._pw.stop()


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
    if kind in ('bidi', 'webdriver'):
        from webdriver import BidiTab, WebDriverTab
        return BidiTab(where) if kind == 'bidi' else WebDriverTab(*where)
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
