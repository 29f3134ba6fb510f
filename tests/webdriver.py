"""The two W3C WebDriver protocols, for tests/drivers.py: Firefox over WebDriver BiDi (a WebSocket, the
`websockets` library's synchronous client) and WebKit over WebDriver classic (HTTP, urllib)."""
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

from drivers import CENTRE, CHANGED, TAB_KEY, Tab, chord_actions

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
