# Step through gpt() (MicroPython): for the word typed (or a sample clicked) and a position, the worker runs
# gpt() once, line by line (worker.py's step_through: forward only, no random generator), and stepper.js shows
# the lines in the Code panel's editor with the variables each one changed. The trace is a snapshot of the model
# at that step: it is not refreshed while training (Step through again to see the model as it is now).
import json

from pyscript import window

import client
import views
from session import page
from ui import el, on, set_text

FILE = 'microgpt/model.py'


def position(prefix):
    """The position typed, or, left empty, the last one: the word's end (what comes after the whole word)."""
    text = str(el('stepper-position').value).strip()
    if text:
        return text
    block = page.model['config']['block_size'] if page.model else 16
    return str(min(len(prefix), block - 1))


async def ask():
    prefix = str(el('stepper-prefix').value)
    try:
        pos = int(position(prefix))
    except ValueError:
        return {'error': 'the position must be a whole number, got %r' % position(prefix)}
    return await client.step_through(prefix, pos, el('temperature').value)


def show(r, ms):
    if not views.said(r, 'stepper-prefix', 'stepper-vars'):
        set_text('stepper-about', '')
        window.stepper.clear()
        return
    where = 'Position %d (input %s) of “%s”, model at step %d' % (
        r['position'], r['token'], r['prefix'], r['step'])
    if r['edited']:
        where += ': your edited gpt()'
    elif r['engine'] == 'efficient':
        where += ': the original gpt() with the efficient engine\'s weights (both compute the same numbers)'
    if r['steps_left_out'] or r['numbers_left_out']:
        where += '. A large model: the trace keeps the first lines and numbers only (the rest is named, not shown)'
    set_text('stepper-about', where + '.')
    window.stepper.load(json.dumps(r))
    views.timed('stepper-vars', r, ms)


VIEW = views.View(ask, show)  # not live: a trace is a snapshot, stepped through at leisure


@on('click', '#stepper-run')
async def on_run(event):
    await VIEW.refresh()


@on('keydown', '#stepper-prefix')
async def on_key(event):
    await views.on_enter(VIEW, event)


@on('click', '#samples')
async def on_sample(event):
    views.take_sample(event, 'stepper-prefix')  # filled, not asked: the trace is asked for by its button
