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
import hashlib
import json
import re
import shutil
import subprocess
import sys

from buildlib.datasets import datasets
from buildlib.page import html_attr, page_constants, settings_form
from buildlib.paths import DIST, NODE_MODULES, NPM_STAMP, ROOT, WEB
from buildlib.serve import make_server, serve, serve_in_background  # noqa: F401 (build.make_server for the tests)
from buildlib.testing import ensure_test_dependencies

# What the site needs from each npm package: (package folder, files, destination in dist/)
RUNTIME = [
    ('pyodide', ['pyodide.mjs', 'pyodide.asm.mjs', 'pyodide.asm.wasm', 'python_stdlib.zip', 'pyodide-lock.json'],
     'pyodide'),
    ('@micropython/micropython-webassembly-pyscript', ['micropython.mjs', 'micropython.wasm'], 'micropython'),
    ('uplot/dist', ['uPlot.iife.min.js', 'uPlot.min.css'], 'vendor/uplot'),
    ('qrcode-generator/dist', ['qrcode.js'], 'vendor/qrcode'),
]
PYSCRIPT_DIST = '@pyscript/core/dist'  # every file but source maps


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


# -- datasets (buildlib/datasets.py) -----------------------------------------------------------
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


# -- test -------------------------------------------------------------------------------------
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
