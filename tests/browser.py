"""Finding a Chromium for the browser tests and benchmarks, here or on a user's machine."""
import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']
HOW_TO_GET_ONE = ('no Chromium found for the browser tests. Either install one: `apt-get install -y chromium` '
                  '(Debian/Ubuntu), or `python -m playwright install chromium`; or point MICROGPT_CHROMIUM '
                  'at a Chromium or Chrome executable.')


def _playwright_chromium():
    """The browser `playwright install chromium` downloaded, if any."""
    try:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:
        return None
    return path if path and Path(path).exists() else None


def find_chromium():
    """MICROGPT_CHROMIUM, else a system Chromium/Chrome, else Playwright's own; None when there is none.

    Returns '' for "Playwright's bundled browser" (launch without executable_path)."""
    env = os.environ.get('MICROGPT_CHROMIUM')
    if env:
        return env if Path(env).exists() else None
    for name in ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        path = shutil.which(name)
        if path:
            return path
    return '' if _playwright_chromium() else None


def launch(playwright, **kwargs):
    """Launch headless Chromium with the flags this project's machines need."""
    path = find_chromium()
    if path is None:
        raise RuntimeError(HOW_TO_GET_ONE)
    options = {'headless': True, 'args': CHROMIUM_ARGS, **kwargs}
    if path:
        options['executable_path'] = path
    return playwright.chromium.launch(**options)
