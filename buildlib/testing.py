"""What `python build.py test` needs before pytest: the test dependencies and a Chromium."""
import subprocess
import sys

from .paths import ROOT


def ensure_test_dependencies():
    try:
        import playwright  # noqa: F401
        import pytest  # noqa: F401
        import websockets  # noqa: F401  (Firefox's WebDriver BiDi, tests/drivers.py)
        import pyflakes  # noqa: F401  (tests/test_names.py)
    except ImportError:
        print('build.py: installing the test dependencies (pip install -e ".[test]")', flush=True)
        subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '-e', f'{ROOT}[test]'], check=True)
    sys.path.insert(0, str(ROOT / 'tests'))
    from browser import find_chromium
    if find_chromium() is None:
        print('build.py: no Chromium found; trying `playwright install chromium`', flush=True)
        subprocess.run([sys.executable, '-m', 'playwright', 'install', 'chromium'])
