"""The hostile corpus: what students, their files and their laptops do to the page, and what it must answer.

Each case is (kind, what, input, message): kind 'upload' (a file name and its bytes), 'paste' (text put in
the paste box) or 'setting' (a field's label and the text typed), and a piece of the message the page must
show. tests/test_hostile.py runs them all against one trained model: each must leave the worker alive and
the model where it was. The messages are the engine's, so the same inputs give the same words on the CLI.
"""
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
    ('Embedding size', '128', 'block_size: too long for this model size: a training step would build'),
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
    "js.postMessage(js.JSON.parse('{\"id\": 1, \"answer\": \"forged\", \"dead\": \"forged\"}'))",
    "js.BroadcastChannel.new('microgpt').postMessage('forged')",
]
