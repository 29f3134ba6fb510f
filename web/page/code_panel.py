# The Code panel (MicroPython): the engine's files in an editor (CodeMirror: editor.js, window.codeEditor), read-only
# until Edit; Train with my code (a new model that runs the edited files, original engine only: the worker's
# code_train), what changed (a diff the worker computes), Restore original; an error in the code shown beside the
# editor with its file, line and message, and that line marked. A step that runs past the step time limit, or
# Stop, ends the worker: a fresh one starts and restores the last autosave (restart.py, keep.py).
import asyncio
import json

from pyscript import window

import client
import confine
import keep
import models
import restart
import settings_form
import status
import training
from constants import ENGINES
from session import lock, may_discard, page, wait_ready
from ui import alert, el, now, on, set_text

STOPPED = 'you pressed Stop'
MAX_LIMIT_S = 3600


class Code:
    def __init__(self):
        self.loaded = False  # the editor holds the files
        self.editing = False  # Edit was pressed: the editor takes typing
        self.changed = []  # files the editor holds changed
        self.busy = False  # a model with the edited code is being built (its first step)
        self.model_code = {}  # {path: text}: the files the current model runs edited
        self.model_generation = None  # ...for this model
        self.diff_pending = False


panel = Code()


def editor():
    return window.codeEditor


def model_edited():
    return page.model is not None and bool(page.model.get('code'))


# -- what may be pressed ------------------------------------------------------------------------------------
def update_code_buttons():
    ready = page.ready and not page.worker_gone and panel.loaded
    el('code-edit').disabled = not ready or panel.editing
    el('code-train').disabled = not ready or panel.busy or not panel.editing
    el('code-restore').disabled = not ready or not panel.changed
    edited_running = client.connection.edited and (page.running or page.loop_alive)
    el('code-stop').disabled = not (page.ready and not page.worker_gone and (panel.busy or edited_running))
    off = bool(panel.changed) or model_edited()
    for name in ENGINES[1:]:  # edited code runs on the first, the original engine, only
        el('engine').querySelector('option[value="%s"]' % name).disabled = off
    el('engine-code-note').hidden = not off


status.after_update_buttons.append(update_code_buttons)


# -- errors beside the editor -------------------------------------------------------------------------------
def show_message(text, kind='error'):
    box = el('code-error')
    box.textContent = text
    box.className = 'code-error' + ('' if kind == 'error' else ' ' + kind)


def show_code_error(r):
    """A failed call's answer: an error of the edited code (file, line, message) beside the editor, its line
    marked; other errors are the alert line's."""
    c = r.get('code_error')
    if not c:
        return
    where = c['file'] or 'your code'
    if c['line']:
        where += ', line %d' % c['line']
    step = ' (step %d)' % c['step'] if c.get('step') else ''
    show_message('%s%s: %s' % (where, step, c['message']))
    editor().markError(c['file'] or '', c['line'] or 0)


def clear_code_error():
    show_message('')
    if panel.loaded:
        editor().markError('', 0)


training.after_error.append(show_code_error)


# -- the files ------------------------------------------------------------------------------------------------
async def load_files_locked():
    """The engine's files from the worker into the editor (once), and the current model's edits."""
    r = await client.code_files()
    if 'error' in r:
        show_message('The code could not be shown: ' + r['error'])
        return
    if not panel.loaded:
        editor().load('code-editor', json.dumps(r['files']))
        editor().onChange(lambda *_: on_editor_change())
        panel.loaded = True
    show_model_code(r['edited'])
    update_code_buttons()


def show_model_code(edited):
    """The files the current model runs edited ({path: text}; nothing to show when it runs the original)."""
    panel.model_code, panel.model_generation = dict(edited), page.model['generation'] if page.model else None
    if edited:
        editor().setTexts(json.dumps(edited))
        start_editing()


def start_editing():
    panel.editing = True
    editor().setEditable(True)
    update_code_buttons()


def on_editor_change():
    panel.changed = json.loads(str(editor().changed()))
    update_code_buttons()
    if el('code-changes').open:
        asyncio.create_task(refresh_diff())


async def after_import(r):
    """A loaded, resumed or restored run: the editor shows the code it runs (when edited)."""
    if r.get('code'):
        f = await client.code_files()
        if 'error' not in f:
            show_model_code(f['edited'])
    else:
        panel.model_code, panel.model_generation = {}, page.model['generation']
    update_code_buttons()


keep.after_import.append(after_import)
keep.own_code[0] = lambda: panel.model_code


@on('click', '#code-edit')
async def on_edit(event):
    if panel.loaded:
        start_editing()
        client.prestart_sandbox()  # where edited code will run: started while the user types


@on('click', '#code-restore')
async def on_restore(event):
    editor().setTexts('{}')
    clear_code_error()
    panel.editing = False
    editor().setEditable(False)
    on_editor_change()


# -- what changed ---------------------------------------------------------------------------------------------
async def refresh_diff():
    if panel.diff_pending:
        return
    panel.diff_pending = True
    try:
        await asyncio.sleep(0.15)  # typing: one diff for a burst of keys
        r = await client.code_check(str(editor().texts()))
    finally:
        panel.diff_pending = False
    if 'error' in r:
        set_text('code-diff', r['error'])
        return
    set_text('code-diff', r['diff'] or 'No changes: this is the original code.')


@on('toggle', '#code-changes')
async def on_changes_toggle(event):
    if el('code-changes').open and panel.loaded:
        await refresh_diff()


# -- Train with my code ---------------------------------------------------------------------------------------
@on('click', '#code-train')
async def on_code_train(event):
    await wait_ready()
    page.running = False  # a run under way pauses first (the loop lets go of the lock between batches)
    async with lock:
        alert.clear()
        clear_code_error()
        if not may_discard('Training with your code starts a new model.'):
            return
        d = await settings_form.describe()
        if 'error' in d and not d.get('model_only'):
            return
        texts = str(editor().texts())
        panel.busy = True
        update_code_buttons()
        try:
            r = await confine.build_locked(True, lambda: client.code_train(settings_form.read_settings(), texts))
        finally:
            panel.busy = False
            update_code_buttons()
        if 'error' in r:
            if r.get('code_error'):
                show_code_error(r)
                show_message(el('code-error').textContent + '\nThe model was not changed.')
            elif not r.get('gone'):
                alert.show(r['error'])
            return
        models.new_model(r)
        changed = json.loads(texts)
        panel.model_code = {path: changed[path] for path in r['code']}
        panel.model_generation = r['generation']
        training.take_steps(r)
        if 'error' in d:
            await settings_form.describe()  # the error was about the old model
        what = ', '.join(r['code']) if r['code'] else 'the original code (nothing is changed)'
        show_message('Training with %s: step 1 gave loss %.4f.' % (what, r['losses'][0]), 'info')
        page.running = not page.model['done']
        page.marks = [(now(), page.model['step'])]
        status.update_status()
        status.update_buttons()
    if page.running and not page.loop_alive:
        asyncio.create_task(training.training_loop())


# -- a runaway: the step time limit, Stop ---------------------------------------------------------------------
@on('input', '#code-limit')
async def on_limit(event):
    text = str(el('code-limit').value).strip()
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_LIMIT_S:
        set_text('err-code-limit', 'Step time limit: a number of seconds above 0, at most %d (now %s).' % (
            MAX_LIMIT_S, repr(text)))
        el('code-limit').setAttribute('aria-invalid', 'true')
        return
    set_text('err-code-limit', '')
    el('code-limit').removeAttribute('aria-invalid')
    client.connection.step_limit_ms = int(value * 1000)


@on('click', '#code-stop')
async def on_stop(event):
    client.stop(STOPPED)


async def start_fresh_worker(why):
    show_message('Stopped: %s. The worker running it was ended; a fresh one is starting…' % why)
    await restart.on_restart(None)
    if page.worker_gone or page.model is None:
        return
    show_message('Stopped: %s. A fresh Python worker took over, at step %d (see the message above the chart).' % (
        why, page.model['step']))


def on_worker_gone(why):
    if why.startswith(client.RAN_AWAY) or why == STOPPED:
        page.running = False
        page.worker_gone = why
        status.update_status()
        status.update_buttons()
        asyncio.create_task(start_fresh_worker(why))
    else:
        restart.report_worker_gone(why)


client.connection.on_gone = on_worker_gone
