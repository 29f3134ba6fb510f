"""The hostile corpus: what students, their files and their laptops do to the page, and what it must answer.

Each case is (kind, what, input, message): kind 'upload' (a file name and its bytes), 'paste' (text put in
the paste box) or 'setting' (a field's label and the text typed), and a piece of the message the page must
show. tests/test_hostile.py runs them all against one trained model: each must leave the worker alive and
the model where it was. The messages are the engine's, so the same inputs give the same words on the CLI.
REFUSED_STATES are saved states (Load model, `python -m microgpt --load`), each refused with one message.
"""
import json

from microgpt import Config, Trainer, format_log_row, state

REFUSED_UPLOADS = [
    ('empty.txt', b'', 'no documents'),
    ('blank.txt', b'\n\n\n', 'no documents'),
    ('spaces.txt', b'   \n\t\t\n  \n', 'no documents'),
    ('cr-only.txt', b'\r\r\r\n\r', 'no documents'),
    ('bom-only.txt', b'\xef\xbb\xbf\n', 'no documents'),
    ('latin1.txt', 'caf\xe9\nna\xefve\n'.encode('latin-1'), 'not UTF-8'),
    ('utf16.txt', 'hello\nworld\n'.encode('utf-16'), 'not UTF-8'),
    ('bytes.txt', b'ok\n\xff\xfe\x80bad\n', 'not UTF-8'),
    ('truncated-utf8.txt', 'abc\n\u00e9'.encode()[:-1], 'not UTF-8'),
    ('nul.txt', b'abc\nde\x00f\nghi\n', 'NUL character (byte 0) on line 2'),
    ('nul-first.txt', b'\x00abc\n', 'NUL character (byte 0) on line 1'),
    ('image.png', b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR', 'not UTF-8'),
    ('archive.gz', b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcbH\xcd\xc9\xc9W', 'not UTF-8'),
    ('program.exe', b'MZ\x90\x00\x03\x00\x00\x00', 'not UTF-8'),
    ('big.txt', b'abcdefghi\n' * 1_100_000, 'limit is 10 MB'),
    ('wide.txt', '\n'.join(chr(0x4E00 + i) for i in range(600)).encode(), 'distinct characters'),
    ('wide-by-one.txt', '\n'.join(chr(0x4E00 + i) for i in range(501)).encode(), '501 distinct characters'),
]

REFUSED_PASTES = [
    ('blank', '   \n  ', 'no documents'),
    ('nul', 'abc\nx\u0000y\n', 'NUL character (byte 0) on line 2'),
    ('wide', '\n'.join(chr(0x4E00 + i) for i in range(520)), '520 distinct characters'),
]

REFUSED_SETTINGS = [
    ('Embedding size', '0', 'n_embd: must be between 1 and 128, got 0'),
    ('Embedding size', '129', 'n_embd: must be between 1 and 128, got 129'),
    ('Embedding size', '', "n_embd: must be a whole number, got ''"),
    ('Embedding size', '1.5', "n_embd: must be a whole number, got '1.5'"),
    ('Embedding size', '18', 'must be divisible by n_head'),
    # ('Embedding size', '128') is no longer refused by the settings: it fits the efficient engine these cases run
    # on; the original engine's limit in the page is tests/test_limits.py's (test_the_page_says_what_fits_...)
    ('Heads', '3', 'must be divisible by n_head (16 is not a multiple of 3)'),
    ('Heads', '32', 'n_head: must be at most n_embd (16), got 32'),
    ('Heads', 'four', "n_head: must be a whole number, got 'four'"),
    ('Layers', '0', 'n_layer: must be between 1 and 8, got 0'),
    ('Layers', '9', 'n_layer: must be between 1 and 8, got 9'),
    ('Block size', '0', 'block_size: must be between 1 and 128, got 0'),
    ('Block size', '129', 'block_size: must be between 1 and 128, got 129'),
    ('Steps', '0', 'num_steps: must be between 1 and 1,000,000, got 0'),
    ('Steps', '1e12', 'num_steps: must be between 1 and 1,000,000, got 1000000000000'),
    ('Steps', '-5', 'num_steps: must be between 1 and 1,000,000, got -5'),
    ('Learning rate', '0', 'learning_rate: must be in (0, 1], got 0.0'),
    ('Learning rate', '1.5', 'learning_rate: must be in (0, 1], got 1.5'),
    ('Learning rate', 'NaN', "learning_rate: must be a finite number, got 'NaN'"),
    ('Learning rate', 'Infinity', "learning_rate: must be a finite number, got 'Infinity'"),
    ('Learning rate', '1e400', "learning_rate: must be a finite number, got '1e400'"),
    ('Learning rate', 'abc', "learning_rate: must be a number, got 'abc'"),
    ('Learning rate', '0,01', "learning_rate: must be a number, got '0,01'"),
    ('Seed', '-1', 'seed: must be between 0 and 4,294,967,295, got -1'),
    ('Seed', '4294967296', 'seed: must be between 0 and 4,294,967,295, got 4294967296'),
    ('Seed', '9' * 400, 'seed: must be between 0 and 4,294,967,295, got 999'),
    ('Temperature', '0', 'temperature: must be in [0.01, 10], got 0.0'),
    ('Temperature', '1e-310', 'temperature: must be in [0.01, 10], got 1e-310'),
    ('Temperature', '5e-324', 'temperature: must be in [0.01, 10], got 5e-324'),
    ('Temperature', '11', 'temperature: must be in [0.01, 10], got 11.0'),
    ('Beta 1', '1', 'beta1: must be in [0, 1), got 1.0'),
    ('Beta 2', '-0.1', 'beta2: must be in [0, 1), got -0.1'),
    ('Epsilon', '0', 'eps: must be in (0, 1], got 0.0'),
]

CASES = ([('upload', name, data, message) for name, data, message in REFUSED_UPLOADS]
         + [('paste', name, text, message) for name, text, message in REFUSED_PASTES]
         + [('setting', label, text, message) for label, text, message in REFUSED_SETTINGS])


# -- saved states (issue 18): a file given to Load model or `python -m microgpt --load` --------------------------
# Each is (file name, its bytes, a piece of the message). The bytes are a small valid state, damaged one way.
def _base_state():
    trainer = Trainer(Config(n_embd=4, n_head=1, block_size=6, num_steps=50), ['abba', 'baba', 'cab', 'acab'])
    rows = [format_log_row(trainer.step()) for _ in range(2)]
    return state.dumps(trainer, log=rows)


def _damaged(**fields):
    data = json.loads(_base_state())
    for key, change in fields.items():
        data[key] = change(data[key]) if callable(change) else change
    return json.dumps(data).encode()


def _first_weight(value):
    return lambda weights: {**weights, 'wte': [[value] + row[1:] for row in weights['wte']]}


STATE_BYTES_LIMIT_MB = 128  # microgpt/state.py's MAX_STATE_BYTES, in MiB: the oversized case is made in place
REFUSED_STATES = [
    ('deep.json', b'[' * 100_000 + b']' * 100_000, 'nested too deeply'),
    ('deep-object.json', b'{"a":' * 100_000 + b'1' + b'}' * 100_000, 'nested too deeply'),
    ('deep-log.json', _damaged(log=lambda log: [[[[[[[[[[[[log]]]]]]]]]]]]), 'nested too deeply'),
    ('nan-weight.json', _damaged(weights=_first_weight(float('nan'))), 'weights wte: nan is not a finite number'),
    ('infinite-weight.json', _damaged(weights=_first_weight(float('inf'))), 'weights wte: inf is not a finite number'),
    ('huge-int-weight.json', _damaged(weights=_first_weight(10 ** 400)), 'is not a finite number'),
    ('nan-adam.json', _damaged(adam_m=lambda m: m[:-1] + [float('nan')]), 'adam_m: nan is not a finite number'),
    ('infinite-adam.json', _damaged(adam_v=lambda v: [float('-inf')] + v[1:]), 'adam_v: -inf is not a finite number'),
    ('negative-adam.json', _damaged(adam_v=lambda v: [-1.0] + v[1:]), 'adam_v: a second moment cannot be negative'),
    ('big-docs.json', _damaged(docs=lambda docs: docs + ['ab' * 1000] * 5500), 'limit is 10 MB'),
    ('number-docs.json', _damaged(docs=[1, 2, 3]), 'the documents should be a list of text'),
    ('rng-overflow.json', _damaged(rng=lambda rng: [rng[0], [2 ** 64] * 625, None]), 'the random generator'),
    ('rng-negative.json', _damaged(rng=lambda rng: [rng[0], [-1] * 625, None]), 'the random generator'),
    ('rng-gauss.json', _damaged(rng=lambda rng: [rng[0], rng[1], 'x']), 'the random generator'),
    ('nan-log.json', _damaged(log=lambda log: ['1,nan,0.01'] + log[1:]), 'log row 1 is damaged'),
    ('uchars-list.json', _damaged(uchars=['a', 'b', 'c']), 'the vocabulary should be text'),
    ('not-json.json', b'{"format": "microgpt-state", "version": 1,', 'not a JSON state'),
]

# Links refused whole, before any part is read: (the fragment, a piece of the one message). Chromium accepts
# addresses up to 2 MB; the page's own links stay under about 20,000 characters and 20 parts.
REFUSED_LINKS = [
    ('&'.join('x%d=1' % i for i in range(60_000)), 'it is 528,889 characters long (the limit is 65,536)'),
    ('&'.join('x' * 20_000), 'it has 20,000 parts (the limit is 300)'),
    ('&'.join('n_layer=%d' % (i % 9) for i in range(301)), 'it has 301 parts (the limit is 300)'),
    ('title=' + 'a' * 70_000, 'it is 70,006 characters long (the limit is 65,536)'),
    ('data=z:' + 'A' * 2_000_000, 'it is 2,000,007 characters long (the limit is 65,536)'),
    (('x=1&' * 500_000)[:-1], 'it is 1,999,999 characters long (the limit is 65,536)'),
]
# Links within those limits that cost the page the most: each part is named in the message, the page is ready.
# (the fragment, a piece of the message)
LARGEST_LINKS = [
    ('&'.join('k%d=%s' % (i, 'v' * 200) for i in range(300)), "'k0': is not a setting"),
    ('lock=' + ','.join('s%d' % i for i in range(2_500)), "lock: 's0', 's1'"),
    ('&' * 65_000 + 'seed=7', ''),
]

# Edited code (the Code panel, a link's code, a saved or autosaved run's code) trying to reach beyond its own worker:
# each is the body of an async Python function run inside the edited microgpt/model.py, with SITE the page's own
# address (which the page itself can fetch). In the sandboxed worker every one must fail (tests/test_sandbox.py).
SANDBOX_REACHES = {
    'caches': "return list(await js.caches.keys())",  # the offline copy, the Pyodide snapshot, the datasets
    'caches-write': "await (await js.caches.open('microgpt-datasets')).put(SITE + 'data/names.txt', "
                    "js.Response.new('planted'))",
    'indexeddb': "return js.indexedDB.open('microgpt')",  # the autosaved runs
    'fetch': "return (await js.fetch(SITE)).status",
    'fetch-outside': "return (await js.fetch('https://example.com/')).status",
    'fetch-platform': "return (await js.WorkerGlobalScope.prototype.fetch.call(js.self, SITE)).status",
    'xhr': "x = js.XMLHttpRequest.new()\n    x.open('GET', SITE, False)\n    x.send()\n    return x.status",
    'websocket': "return await opened(js.WebSocket.new(SITE.replace('http', 'ws')))",
    'import-scripts': "return js.importScripts(SITE + 'page.js')",
    'service-worker': "return await js.navigator.serviceWorker.getRegistrations()",
    'local-storage': "return js.localStorage.length",
    'dom': "return js.document.title",
    'parent-window': "return js.parent.location.href",
    'eval': "return js.eval('1 + 1')",
}
# Messages edited code sends, which the page must not receive (it listens only to its worker's MessagePort)
SANDBOX_POSTS = [
    "js.postMessage(js.JSON.parse('{\"id\": 1, \"answer\": \"forged\", \"gone\": \"forged\"}'))",
    "js.BroadcastChannel.new('microgpt').postMessage('forged')",
]
