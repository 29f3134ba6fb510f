# Training and its buttons (MicroPython): Train, Pause, Step, Reset, Generate, Download log, Verify.
#
# Training is pull-based: while training, the page asks the worker for ~100 ms of steps at a time, and Pause
# simply stops asking. The next batch is asked for before the page shows the last, so the worker never waits
# for the page; while a view is shown, batches are short and asked one at a time, so a view waits less. A model
# number (`generation`, bumped by every new model) in every answer lets the page ignore answers about a replaced
# model.
import asyncio
import json

from pyscript import window

import client
from constants import ENGINES
from models import apply_settings_locked, reset_model_locked
from session import lock, page, wait_ready
from settings_form import show_error
from status import mark_step, show_samples, update_buttons, update_status
from ui import alert, el, now, on, plural, set_text, thousands

TRAIN_BUDGET_MS = 100  # how long one train() call may run in the worker
QUICK_BUDGET_MS = 30  # ...while something else asks the worker often (a view shown): one step of the default model
SAMPLE_EVERY_MS = 4000  # refresh the samples this often while training
SAMPLES = 8
VERIFY_STEPS = 3
after_steps = []  # called after the page shows steps trained (keep.py: autosave)
after_stop = []  # called when the training loop stops (keep.py: the run is saved on Pause)
after_error = []  # called with a failed train() or sample() answer (code_panel.py: an error in edited code)
quick_turns = []  # each says whether it wants the worker's turn soon (views.py: a view is shown); then batches
# are short and asked one at a time, so another call waits for one short batch, not for two long ones


def batch_budget():
    """(ms of steps a train() call may take, whether to ask the next one before this one's answer)."""
    if any(wants() for wants in quick_turns):
        return QUICK_BUDGET_MS, False
    return TRAIN_BUDGET_MS, True


def take_steps(r):
    """Show the answer of a train() call (steps, losses) if it is about the current model."""
    if page.model is None or r.get('generation') != page.model['generation']:
        return
    losses = r['losses']
    if losses:
        window.lossChart.append(r['step'] - len(losses) + 1, json.dumps(losses))
        page.last_loss = losses[-1]
    if r.get('validation_losses'):
        window.lossChart.addValidation(json.dumps(r['validation_losses']))
    page.model.update({k: r[k] for k in ('step', 'num_steps', 'done')})
    mark_step(now(), r['step'])
    update_status()
    for hook in after_steps:
        hook()


async def refresh_samples_locked():
    r = await client.sample(SAMPLES, el('temperature').value)
    if 'error' in r:
        for hook in after_error:
            hook(r)
        if r.get('field') == 'temperature':
            show_error(r)
        else:
            alert.show(r['error'])
        return
    if page.model is not None and r['generation'] == page.model['generation']:
        show_samples(r['samples'], r['temperature'], r['step'])  # the worker's step: a batch may be under way
    page.last_sample = now()


def keep_training():
    return page.running and page.model is not None and not page.model['done']


async def training_loop():
    page.loop_alive = True
    try:
        while keep_training():
            async with lock:
                # Batches back to back: the next is asked for before this side shows the last. The lock is
                # held while a batch is under way, and let go between batches when another task waits.
                tick = now()
                pending = client.ask_train(1000000, batch_budget()[0]) if keep_training() else None
                while pending is not None:
                    r = await client.answer(pending)
                    pending = None
                    if 'error' in r:  # a step failed (its steps before it are in the answer) or the worker did
                        if 'losses' in r:
                            take_steps(r)
                        alert.show(r['error'])
                        for hook in after_error:
                            hook(r)
                        page.running = False
                        break
                    budget, ahead = batch_budget()
                    if ahead and page.running and not r['done'] and lock.waiting == 0:
                        pending = client.ask_train(1000000, budget)
                    t = now()
                    page.elapsed += (t - tick) / 1000
                    tick = t
                    take_steps(r)
                    if page.model['done'] or t - page.last_sample > SAMPLE_EVERY_MS:
                        await refresh_samples_locked()
    finally:
        page.running = False
        page.loop_alive = False
        page.marks = []
        update_status()
        update_buttons()
        for hook in after_stop:
            hook()


@on('click', '#train')
async def on_train(event):
    await wait_ready()
    if page.running:
        return
    async with lock:
        alert.clear()
        if not await apply_settings_locked():
            return
        if page.model['done']:
            alert.show('Training is complete (%s). Raise Steps to train further, or Reset.' % plural(
                page.model['step'], 'step'), 'info')
            return
        page.running = True
        page.marks = [(now(), page.model['step'])]
        update_status()
        update_buttons()
    if not page.loop_alive:
        asyncio.create_task(training_loop())


@on('click', '#pause')
async def on_pause(event):
    page.running = False
    update_status()
    update_buttons()


@on('click', '#step')
async def on_step(event):
    await wait_ready()
    if page.running:
        return
    async with lock:
        alert.clear()
        if not await apply_settings_locked() or page.model['done']:
            return
        t = now()
        r = await client.train(1, 0)
        if 'error' in r:
            alert.show(r['error'])
            for hook in after_error:
                hook(r)
            return
        page.elapsed += (now() - t) / 1000
        page.marks = []
        take_steps(r)
        if page.model['done'] or now() - page.last_sample > SAMPLE_EVERY_MS:
            await refresh_samples_locked()


@on('click', '#reset')
async def on_reset(event):
    await wait_ready()
    page.running = False
    async with lock:
        alert.clear()
        await reset_model_locked()


@on('click', '#generate')
async def on_generate(event):
    await wait_ready()
    async with lock:
        if page.model is not None:
            await refresh_samples_locked()


@on('click', '#download')
async def on_download(event):
    await wait_ready()
    async with lock:
        r = await client.log_csv()
    if 'error' in r:
        alert.show(r['error'])
        return
    window.saveText('microgpt-log.csv', r['csv'], 'text/csv')


@on('click', '#verify')
async def on_verify(event):
    await wait_ready()
    set_text('verify-result', 'Running %d steps on both engines…' % VERIFY_STEPS)
    async with lock:
        if page.model is None:
            return
        r = await client.verify(VERIFY_STEPS)
    result = el('verify-result')
    if 'error' in r:
        result.textContent = ''
        alert.show('Verify: ' + r['error'])
        return
    where = 'from step %d' % r['from_step']
    compared = r['compared']
    both = 'both engines' if compared == ENGINES else ' and on '.join(compared)
    if r['identical']:
        result.textContent = ('Identical: %d steps %s gave the same losses and the same %s parameters on %s, '
                              'bit for bit.' % (r['steps'], where, thousands(r['num_params']), both))
        result.className = 'verify-result ok'
    else:
        what = [w for w, same in (('losses', r['same_losses']), ('parameters', r['same_params'])) if not same]
        who = 'the engines' if compared == ENGINES else ' and '.join(compared)
        result.textContent = 'Different: %s disagree on %s after %d steps %s.' % (
            who, ' and '.join(what), r['steps'], where)
        result.className = 'verify-result bad'
    if r.get('limited'):  # a model too large for the original engine: it ran the steps that fit
        result.textContent += ' ' + r['limited']
