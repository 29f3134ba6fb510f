"""The training worker: Pyodide runs the microgpt package here, off the page's main thread.

The page (MicroPython, main thread) awaits the rows of the protocol through pyscript.sync: web/worker/protocol.py
has the table (each row's arguments and answer keys), web/page/client.py one function per row, and every call
goes through its one error guard. This module registers exactly the table's rows: its own three, which fetch
(init, stage_url, import_state), and the rest from web/worker/worker_rows.py, free of `js` and `pyscript`, which
CPython imports and tests (tests/test_worker_rows.py). PyScript puts the package's files and the rows' files
beside this script (the `files` of its config, which build.py writes), so `import microgpt` just works. A model
of edited code runs the same rows in the sandboxed worker instead (web/js/sandbox.js,
web/worker/sandbox_worker.js), where the page reads the blob: URLs of stage_url and import_state itself and sends
their bytes. This worker never builds edited code (worker_session.CODE_RUNS_HERE is False here): code_train and
import_state's 'load' are the sandbox's.
"""

import js
from pyodide.http import pyfetch
from pyscript import sync

import microgpt as mg
import protocol
import worker_rows as rows
import worker_session
from microgpt import state as saved_state
from worker_session import error_answer, failure, to_json

worker_session.CODE_RUNS_HERE = False  # the page's origin: edited code runs in the sandboxed worker only


async def init(base_url):
    """The dataset presets build.py listed."""
    presets = await (await pyfetch(base_url + 'data/presets.json')).json()
    return to_json({'presets': presets})


async def stage_url(url, source):
    """Fetch a dataset (a preset, or an uploaded file as a blob: URL) and parse it; adopt it with adopt()."""
    response = await pyfetch(url)
    if not response.ok:
        return failure(f'{source} could not be loaded (HTTP {response.status})')
    return rows.stage_bytes(await response.bytes(), source)


async def import_state(url, source, code_choice):
    """A saved state (a blob: URL) becomes the current model and dataset (worker_rows.import_bytes); its size is
    checked before it is read."""
    response = await pyfetch(url)
    if not response.ok:
        return failure(f'{source} could not be read (HTTP {response.status})')
    try:
        saved_state.check_size(int(response.headers.get('content-length') or 0), source)
    except mg.MicrogptError as e:
        return error_answer(e)
    return rows.import_bytes(await response.bytes(), source, code_choice)


class xworker:  # noqa: N801 - the name PyScript looks up
    """PyScript's worker runs xworker.onerror(event) on an error thrown in this worker's global scope (without this
    name it fails with a TypeError of its own). Python is alive: the page notices the error event and checks."""

    @staticmethod
    def onerror(event):
        js.console.warn('an error in the Python worker\'s global scope:', getattr(event, 'message', event))


_OWN = {'init': init, 'stage_url': stage_url, 'import_state': import_state}
for _name in protocol.ROWS:
    setattr(sync, _name, _OWN[_name] if _name in protocol.FETCHING else getattr(rows, _name))
js.performance.mark('microgpt:worker-ready')  # start-up's timeline (benchmarks/browser.py)
