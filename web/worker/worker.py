"""The training worker: Pyodide runs the microgpt package here, off the page's main thread.

The page (MicroPython, main thread) awaits the functions below through pyscript.sync; web/page/client.py has one
function per row of this table, and every call goes through its one error guard. PyScript puts the package's
files and web/worker/worker_rows.py beside this script (the `files` of its config, which build.py writes), so
`import microgpt` just works. The rows themselves are web/worker/worker_rows.py's, free of `js` and `pyscript`: a model
of edited code runs them in the sandboxed worker instead (web/js/sandbox.js, web/worker/sandbox_worker.js), where the page
reads the blob: URLs of stage_url and import_state itself and sends their bytes. This worker never builds edited
code (worker_rows.CODE_RUNS_HERE is False here): code_train and import_state's 'load' are the sandbox's.

Every answer is one JSON string: the keys below, or, when the call fails, the error keys
{error: the engine's message, field: the setting it concerns or null, fields: every setting it concerns,
 rule: the message without the setting's name, model_only: true when only the current model objects,
 code_error: {file, line, message, step} when edited code failed (microgpt/edits.py's CodeError), else null}.

| call                       | arguments                              | answer keys                               |
|----------------------------|----------------------------------------|-------------------------------------------|
| init(base_url)             | the page's folder URL                  | presets [{id, label, file, documents}]    |
| stage_url(url, source)     | a preset's URL, or a blob: URL of an   | DATASET (parsed, waiting for adopt)       |
|                            | uploaded file or pasted text; its name |                                           |
| adopt()                    |                                        | DATASET (now the current dataset)         |
| describe(settings_json,    | {setting: text typed}, the engine name | num_params, truncated, block_size, config,|
|          engine)           | (its limits in the browser: limits.py) | changed (settings that need a new model)  |
| reset(settings_json, eng)  | {setting: text typed}, engine name     | MODEL (a fresh model)                     |
| train(max_steps, budget_ms)| most steps, stop after that long       | MODEL + losses (one per step trained)     |
| set_num_steps(n)           | the new total                          | MODEL                                     |
| set_engine(engine)         | engine name                            | MODEL (same model, other engine); a model |
|                            |                                        | too large for it: the error, model kept   |
| sample(count, temperature) | how many, the temperature typed        | gen, step, samples, temperature           |
| verify(steps)              | how many steps on both engines (a      | identical, same_losses, same_params,      |
|                            | model of edited code: on it and on the | steps, from_step, num_params, compared    |
|                            | original code)                         | (what ran: two names), limited: null, or  |
|                            |                                        | which steps the original engine could run |
|                            |                                        | on a model too large for it (limits.py)   |
| log_csv()                  |                                        | csv (`python -m microgpt --log`'s bytes)  |
| check_link(settings_json)  | [[setting, text]] in the link's order  | settings {name: text} that apply together,|
|                            |                                        | ignored [[name, why]] (the rest)          |
| export_state()             |                                        | HEAD line, then the whole run as          |
|                            |                                        | microgpt/state.py's JSON, log included;   |
|                            |                                        | an error if it cannot be written (numbers |
|                            |                                        | not finite floats, too large)             |
| import_state(url, source,  | a blob: URL of a saved state (a file   | MODEL + dataset: DATASET + last_loss,     |
|              code_choice)  | or the autosaved run); its dataset     | then a line: the losses of the log (JSON).|
|                            | name; for edited code in it: '' ask,   | A state with edited code and choice '':   |
|                            | 'load' (run it), 'original' (the       | {code_consent: {changed, diff,            |
|                            | shipped code, when the weights fit)    | original_fits}, source}: nothing built    |
| next_token(prefix, temp)   | the text typed, the temperature typed  | gen, step, prefix, temperature, ms,       |
|                            |                                        | probs [[character or 'end', p]]           |
| attention(word)            | a word                                 | gen, step, word, tokens (each position's  |
|                            |                                        | input: 'BOS', then characters), ms,       |
|                            |                                        | maps[layer][head][t][s], truncated        |
| step_through(prefix, pos,  | the text typed, a position (0: BOS),   | gen, step, prefix, ms, labels (each token:|
|              temperature)  | the temperature typed                  | its character, 'end' for BOS), and        |
|                            |                                        | Trainer.step_through's keys: steps [{line,|
|                            |                                        | changed}], first_line, logits, probs, ... |
| code_files()               |                                        | files [{path, text}] as shipped (model.py |
|                            |                                        | first), edited {path: text} of the model  |
| code_check(sources_json)   | {path: text} in the editor             | changed [paths], diff (unified, difflib): |
|                            |                                        | whether or not the code compiles          |
| code_train(settings_json,  | {setting: text typed}, {path: text}    | MODEL + losses (its first step) +         |
|            sources_json)   |                                        | validation; the model changes only if the |
|                            |                                        | code built and its first step succeeded   |

DATASET = {source, documents, vocab_size, examples}
HEAD = {gen, step, num_steps, engine, config, source}: export_state's and import_state's answers are two
  parts, a one-line JSON header and a large text after the first newline, which page.js keeps out of the
  page's MicroPython (a Blob, or the chart's points); an error is one line, the error keys.
MODEL = {gen (bumped by every new model), step, num_steps, done, engine, config,
         step_ms (a step's time: measured, or a bound before the first step; the page's deadlines use it),
         vocab_size, source (the dataset's name), validation (null, or {every, sample, held_out}: the split),
         code (the files the model runs edited, [] for the shipped code)}
train's answer also has `validation`: [[step, loss or null]], the validation losses due in that batch (a batch
  ends where one is due; null: not finite). next_token and attention are forward only: they use no random
  generator and change nothing; `ms` is their time in the worker.
"""

import js
from pyodide.http import pyfetch
from pyscript import sync

import microgpt as mg
import worker_rows as rows
import worker_session
from microgpt import state as saved_state
from worker_session import error_answer, to_json

worker_session.CODE_RUNS_HERE = False  # the page's origin: edited code runs in the sandboxed worker only


async def init(base_url):
    """The dataset presets build.py listed."""
    presets = await (await pyfetch(base_url + 'data/presets.json')).json()
    return to_json({'presets': presets})


async def stage_url(url, source):
    """Fetch a dataset (a preset, or an uploaded file as a blob: URL) and parse it; adopt it with adopt()."""
    response = await pyfetch(url)
    if not response.ok:
        return to_json({'error': f'{source} could not be loaded (HTTP {response.status})'})
    return rows.stage_bytes(await response.bytes(), source)


async def import_state(url, source, code_choice):
    """A saved state (a blob: URL) becomes the current model and dataset (worker_rows.import_bytes); its size is
    checked before it is read."""
    response = await pyfetch(url)
    if not response.ok:
        return to_json({'error': f'{source} could not be read (HTTP {response.status})'})
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


for _f in (init, stage_url, import_state) + rows.ROWS:
    if _f.__name__ not in ('stage_bytes', 'import_bytes'):
        setattr(sync, _f.__name__, _f)
js.performance.mark('microgpt:worker-ready')  # start-up's timeline (benchmarks/browser.py)
