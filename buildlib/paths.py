"""Where build.py finds and writes things."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / 'dist'
WEB = ROOT / 'web'
NODE_MODULES = ROOT / 'node_modules'
NPM_STAMP = NODE_MODULES / '.microgpt-lock-sha256'
