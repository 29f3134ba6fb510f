"""Shared fixtures. Browser fixtures build dist/ once per session and serve it on a free localhost port."""
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tests'))


@pytest.fixture(scope='session')
def dist_dir():
    import build
    return build.build()


@pytest.fixture(scope='session')
def site_url(dist_dir):
    import build
    server = build.make_server(dist_dir, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f'http://{host}:{port}/'
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='session')
def playwright_instance():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope='session')
def browser(playwright_instance):
    from browser import launch
    b = launch(playwright_instance)  # fails, with how to get a browser, when none is found
    yield b
    b.close()
