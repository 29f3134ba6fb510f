"""The built site: self-contained, the package's very files, the dataset presets."""
import json
import re

import build
from microgpt import Tokenizer, parse_documents

ROOT = build.ROOT


def test_runtime_files_present(dist_dir):
    for rel in ['pyodide/pyodide.mjs', 'pyodide/pyodide.asm.mjs', 'pyodide/pyodide.asm.wasm',
                'pyodide/python_stdlib.zip', 'pyodide/pyodide-lock.json', 'pyscript/core.js', 'pyscript/core.css',
                'micropython/micropython.mjs', 'micropython/micropython.wasm', 'vendor/uplot/uPlot.iife.min.js',
                'index.html']:
        assert (dist_dir / rel).is_file(), rel
    assert not list((dist_dir / 'pyscript').glob('*.map'))


def test_worker_gets_the_repos_package_files(dist_dir):
    files = json.loads((dist_dir / 'py' / 'files.json').read_text())
    repo_files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / 'microgpt').glob('*.py'))
    assert files == repo_files
    for rel in files:
        assert (dist_dir / 'py' / rel).read_bytes() == (ROOT / rel).read_bytes()


def test_presets_are_plain_text_documents(dist_dir):
    presets = json.loads((dist_dir / 'data' / 'presets.json').read_text(encoding='utf-8'))
    assert presets[0]['id'] == 'names' and len(presets) >= 3
    for preset in presets:
        docs = parse_documents((dist_dir / preset['file']).read_bytes())
        assert len(docs) == preset['documents'] > 10
    names = parse_documents((dist_dir / 'data' / 'names.txt').read_bytes())
    assert Tokenizer.from_documents(names).uchars == list('abcdefghijklmnopqrstuvwxyz')


def test_second_build_downloads_nothing(dist_dir, monkeypatch):
    calls = []
    monkeypatch.setattr(build.subprocess, 'run', lambda *a, **k: calls.append(a))
    build.build(dist_dir)
    assert calls == []


def test_site_names_no_outside_address(dist_dir):
    # our own files (the page, its Python, the presets list) load nothing from another origin
    for path in list(dist_dir.glob('*.html')) + list(dist_dir.glob('*.py')) + list(dist_dir.glob('*.js')) \
            + list(dist_dir.glob('*.css')) + list(dist_dir.glob('*.json')):
        text = path.read_text(encoding='utf-8')
        assert not re.search(r'''(src|href|import|from|fetch\()\s*=?\s*["']?(https?:)?//''', text), path


def test_a_rebuild_removes_what_web_no_longer_has(dist_dir):
    stale = [dist_dir / 'renamed_module.py', dist_dir / 'old' / 'gone.js']
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('# left by an earlier build\n')
    build.build(dist_dir)
    for path in stale:
        assert not path.exists(), path
    assert not (dist_dir / 'old').exists()
    assert (dist_dir / 'index.html').is_file() and (dist_dir / 'pyodide' / 'pyodide.mjs').is_file()


def test_the_snapshot_loader_names_this_build(dist_dir, tmp_path):
    # web/worker/start_pyodide.mjs keeps the worker's Pyodide snapshot under a key naming the build: any change to the
    # site is another build, which never starts from a snapshot an older one stored
    import shutil
    site = tmp_path / 'site'
    shutil.copytree(dist_dir, site)

    def build_id():
        return re.search(r'const BUILD = "([0-9a-f]{16})";', (site / 'start_pyodide.mjs').read_text()).group(1)
    first = build_id()
    assert '{{build}}' in (ROOT / 'web' / 'worker' / 'start_pyodide.mjs').read_text()
    build.write_service_worker(site)
    assert build_id() == first  # the same files: the same build
    (site / 'style.css').write_text((site / 'style.css').read_text() + '\n/* another build */\n')
    build.write_service_worker(site)
    assert build_id() != first
