# Keeping a run (MicroPython): Save model and Load model (a file in microgpt/state.py's format, which the CLI
# reads and writes too), autosave to the browser's storage and the offer to resume after a reload, the last
# autosave for a restarted worker, Save chart. A state's text never becomes a MicroPython string: the worker
# answers in two parts (client.answer(..., split=True)) and keep.js keeps the text as a Blob.
import asyncio
import json

import js
from pyscript import window

import client
import confine
import datasets
import models
import settings_form
import training
from session import S, lock, wait_ready
from status import update_buttons, update_status
from ui import alert, el, now, on, plural, set_text

AUTOSAVE_MS = 5000  # while training, the run is stored this often (and on Pause, and when the tab is hidden)
MODEL_KEYS = ('gen', 'step', 'num_steps', 'done', 'engine', 'config', 'step_ms', 'vocab_size', 'source', 'validation',
              'code')
SUMMARY = ('n_layer', 'n_embd', 'n_head', 'block_size', 'num_steps', 'learning_rate', 'seed')


class Keep:
    def __init__(self):
        self.first_seen = {}  # model gen -> now() of its first step seen: its first autosave comes later
        self.last_save = 0.0
        self.asked = None  # (gen, step) of the last autosave asked for
        self.saved = None  # (gen, step) of the run in storage, for a restarted worker
        self.refused = ''  # why the browser refused storage ('' while it stores)
        self.offer = None  # the stored run's description while the page offers to resume it


K = Keep()
after_import = []  # awaited with the answer of a run loaded, resumed or restored (code_panel.py: its edited code)


def describe_run(head):
    config = head['config']
    settings = ', '.join('%s %s' % (settings_form.LABELS.get(n, n), config[n]) for n in SUMMARY if n in config)
    return '%s; %s; %s engine' % (head.get('source') or 'dataset', settings, head['engine'])


# -- autosave -----------------------------------------------------------------------------------------------
def autosave(force=False):
    """Store the current run unless it was stored moments ago (force: unless it has not moved since)."""
    m = S.model
    if m is None or m['step'] == 0 or S.worker_lost or K.refused:
        return
    if K.offer is not None:  # the user trains another model rather than resuming the stored one
        hide_offer()
    t = now()
    if not force:
        first = K.first_seen.setdefault(m['gen'], t)
        if t - max(first, K.last_save) < AUTOSAVE_MS:
            return
    if K.asked == (m['gen'], m['step']) and force:
        return
    K.last_save, K.asked = t, (m['gen'], m['step'])
    asyncio.create_task(store(client.ask_export_state()))  # asked now, in order with the training batches


async def store(asked):
    r = await client.answer(asked, split=True)
    if 'error' in r:
        return
    meta = {k: r[k] for k in ('step', 'num_steps', 'engine', 'config', 'source')}
    meta['summary'] = describe_run(r)
    why = str(await window.keepStore.put(r['parts'], json.dumps(meta)))
    if why:
        if not K.refused:
            K.refused = why
            alert.show('Autosave is off: the browser refused to store the run (%s). Training carries on; '
                       'Save model keeps it in a file.' % why, 'keep')
        return
    K.saved = (r['gen'], r['step'])


training.after_steps.append(autosave)
training.after_stop.append(lambda: autosave(force=True))
window.keepStore.onHide(lambda *_: autosave(force=True))


# -- a saved run becomes the page's model ----------------------------------------------------------------
async def import_locked(url, source, label):
    """Load a state (a blob: URL) into the worker and show it: settings, dataset, chart, samples. The answer."""
    r = await confine.import_state_locked(url, source)
    if 'error' in r:
        return r
    S.running = False
    config = r['config']
    for name in settings_form.NAMES:
        settings_form.write_value(name, config[name])
    datasets.show_dataset(r['dataset'])
    datasets.set_custom_option(label)
    S.dataset_choice, S.dataset_blob = 'custom', None
    el('dataset').value = 'custom'
    models.new_model({k: r[k] for k in MODEL_KEYS})
    window.keepStore.plot(r['parts'], r['first_logged'])
    S.last_loss = r['last_loss']
    K.first_seen[r['gen']] = now()
    await settings_form.describe()
    await training.refresh_samples_locked()
    for hook in after_import:
        await hook(r)
    update_status()
    update_buttons()
    return r


async def restore_locked():
    """After Restart: the autosaved run, when it is the model the gone worker held. True when restored."""
    meta = str(await window.keepStore.meta() or '')
    url = str(await window.keepStore.stateUrl())
    if not url or not meta:
        return False
    source = json.loads(meta).get('source') or 'the saved run'
    try:
        r = await import_locked(url, source, 'Restored: ' + source)
    finally:
        js.URL.revokeObjectURL(url)
    if 'error' in r:
        return False
    K.saved = (r['gen'], r['step'])
    return True


def saved_is_current():
    return K.saved is not None and S.model is not None and K.saved[0] == S.model['gen']


# -- the offer to resume -------------------------------------------------------------------------------------
async def offer_resume_locked():
    """On opening the page: a stored run is offered (Resume or Start fresh)."""
    text = str(await window.keepStore.metaAtOpen or '')
    if not text:
        return
    try:
        meta = json.loads(text)
        step = int(meta['step'])
    except Exception:  # noqa: BLE001 - a record of another version: not offered
        return
    if step <= 0:
        return
    K.offer = meta
    set_text('resume-text', 'Resume the run from step %d (%s)?' % (step, meta.get('summary', '')))
    el('resume').hidden = False


def hide_offer():
    K.offer = None
    el('resume').hidden = True


@on('click', '#resume-yes')
async def on_resume(event):
    await wait_ready()
    async with lock:
        meta = K.offer
        if meta is None:
            return
        hide_offer()
        url = str(await window.keepStore.stateUrl())
        if not url:
            alert.show('The saved run is no longer in this browser.')
            return
        try:
            r = await import_locked(url, meta.get('source') or 'the saved run', 'Resumed: ' + str(meta.get('source')))
        finally:
            js.URL.revokeObjectURL(url)
        if 'error' in r:
            alert.show('The saved run could not be resumed: %s. A new model is ready instead.' % r['error'])
            return
        K.saved = K.asked = (r['gen'], r['step'])
        alert.show('Resumed the run at step %d: press Train to continue.' % r['step'], 'info')


@on('click', '#resume-no')
async def on_start_fresh(event):
    hide_offer()
    await window.keepStore.clear()


# -- Save model, Load model, Save chart ------------------------------------------------------------------
@on('click', '#save-model')
async def on_save_model(event):
    await wait_ready()
    async with lock:
        if S.model is None:
            return
        r = await client.export_state()
    if 'error' in r:
        alert.show('Save model: ' + r['error'])
        return
    window.keepStore.download(r['parts'], 'microgpt-step-%d.json' % r['step'])


@on('change', '#load-model')
async def on_load_model(event):
    files = el('load-model').files
    if not files.length:
        return
    file = files.item(0)
    name = str(file.name)
    await wait_ready()
    async with lock:
        el('load-model').value = ''
        if S.model_started() and not window.confirm('Load %s? This discards the %s trained so far.' % (
                name, plural(S.model['step'], 'step'))):
            return
        url = js.URL.createObjectURL(file)
        try:
            r = await import_locked(url, name, 'Loaded: ' + name)
        finally:
            js.URL.revokeObjectURL(url)
    if 'error' in r:
        message = r['error'] if r['error'].startswith(name) else name + ': ' + r['error']
        alert.show(message + '. The current model is kept.')
        return
    alert.show('Loaded %s at step %d.' % (name, r['step']), 'info')


@on('click', '#save-chart')
async def on_save_chart(event):
    why = str(await window.saveChart('microgpt-loss-chart.png'))
    if why:
        alert.show('Save chart: ' + why)
