# Keeping a run (MicroPython): Save model and Load model (a file in microgpt/state.py's format, which the CLI
# reads and writes too), autosave to the browser's storage (each tab its own run: keep.js), the run resumed from
# the offer after a reload (keep_offer.py makes it), the tab's last autosave for a restarted worker, Save chart.
# A state's text never becomes a MicroPython string: the worker answers in two parts (client.answer(...,
# split=True)) and keep.js keeps the text (a Blob to download, bytes to store).
import asyncio
import json

import js
from pyscript import window

import client
import code_offer
import confine
import datasets
import models
import settings_form
import training
from framing import FRAMED, framed_by_another_site
from session import lock, may_discard, page, wait_ready
from status import update_buttons, update_status
from ui import alert, el, now, on

AUTOSAVE_MS = 5000  # while training, the run is stored this often (and on Pause, and when the tab is hidden)
SUMMARY = ('n_layer', 'n_embd', 'n_head', 'block_size', 'num_steps', 'learning_rate', 'seed')


class Keep:
    def __init__(self):
        self.first_seen = {}  # model generation -> now() of its first step seen: its first autosave comes later
        self.last_save = 0.0
        self.asked = None  # (generation, step) of the last autosave asked for
        self.saved = None  # (generation, step) of the run in storage, for a restarted worker
        self.refused = ''  # why the browser refused storage ('' while it stores)
        self.offer = None  # {run id: its meta} of the runs offered to resume, while the page offers them


keeping = Keep()
after_import = []  # awaited with the answer of a run loaded, resumed or restored (code_panel.py: its edited code)
own_code = [lambda: {}]  # the edited files {path: text} this tab's model runs (code_panel.py sets it)


def describe_run(head):
    config = head['config']
    settings = ', '.join('%s %s' % (settings_form.LABELS.get(n, n), config[n]) for n in SUMMARY if n in config)
    return '%s; %s; %s engine' % (head.get('source') or 'dataset', settings, head['engine'])


# -- autosave -----------------------------------------------------------------------------------------------
def autosave(force=False):
    """Store the current run unless it was stored moments ago (force: unless it has not moved since)."""
    m = page.model
    if m is None or m['step'] == 0 or page.worker_gone or keeping.refused:
        return
    if keeping.offer is not None:  # the user trains another model rather than resuming the stored one
        hide_offer()
    t = now()
    if not force:
        first = keeping.first_seen.setdefault(m['generation'], t)
        if t - max(first, keeping.last_save) < AUTOSAVE_MS:
            return
    if keeping.asked == (m['generation'], m['step']) and force:
        return
    keeping.last_save, keeping.asked = t, (m['generation'], m['step'])
    asyncio.create_task(store(client.ask_export_state()))  # asked now, in order with the training batches


async def store(asked):
    r = await client.answer(asked, split=True)
    if 'error' in r:
        return
    meta = {k: r[k] for k in ('step', 'num_steps', 'engine', 'config', 'source')}
    meta['summary'] = describe_run(r)
    why = str(await window.keepStore.put(r['parts'], json.dumps(meta)))
    if why:
        if not keeping.refused:
            keeping.refused = why
            alert.show('Autosave is off: the browser refused to store the run (%s). Training carries on; '
                       'Save model keeps it in a file.' % why, 'keep')
        return
    keeping.saved = (r['generation'], r['step'])


training.after_steps.append(autosave)
training.after_stop.append(lambda: autosave(force=True))
window.keepStore.onHide(lambda *_: autosave(force=True))


# -- a saved run becomes the page's model ----------------------------------------------------------------
async def import_locked(url, source, label, code_choice):
    """Load a state (a blob: URL) into the worker its code needs (confine.py) and show it: settings, dataset,
    chart, samples. The answer. code_choice: what to do with edited code in it ('' ask: then the answer is its
    code_consent, nothing changes; 'load': the sandboxed worker runs it; 'original'), see import_state."""
    r = await confine.import_state_locked(url, source, code_choice)
    if 'error' in r or 'code_consent' in r:
        return r
    page.running = False
    config = r['config']
    for name in settings_form.NAMES:
        settings_form.write_value(name, config[name])
    datasets.show_dataset(r['dataset'])
    datasets.set_custom_option(label)
    documents = await window.sandboxWorker.documentsOfState(url)  # the run's dataset, for a link and a Restart
    page.dataset_choice, page.dataset_blob = 'custom', (documents, r['source']) if documents else None
    el('dataset').value = 'custom'
    models.new_model(r)
    window.keepStore.plot(r['parts'], r['first_logged'])
    page.last_loss = r['last_loss']
    keeping.first_seen[r['generation']] = now()
    await settings_form.describe()
    await training.refresh_samples_locked()
    for hook in after_import:
        await hook(r)
    update_status()
    update_buttons()
    return r


async def import_asking(url, source, label):
    """import_locked, but a state with edited code first shows its changes and asks (code_offer.py), with the
    lock let go while the person reads them. The answer; {'error': ..., 'declined': True} for Cancel."""
    async with lock:
        r = await import_locked(url, source, label, '')
    consent = r.get('code_consent')
    if not consent:
        return r
    text = ('%s carries edited code (%s). Nothing of it runs unless you load it. What it changes:' % (
        source, ', '.join(consent['changed'])))
    if not consent['original_fits']:
        text += ' (Its weights do not fit the original code: the run goes on only with its code.)'
    choice = await code_offer.ask(text, consent['diff'], "The saved run's changes",
                                  keep_original=consent['original_fits'], cancel=True)
    if choice == code_offer.CANCEL:
        return {'error': 'you chose not to load its code', 'declined': True}
    async with lock:
        return await import_locked(url, source, label, choice)


async def restore_locked():
    """After Restart: this tab's autosaved run, when it is the model the gone worker held. True when restored.
    Its edited code runs without asking when it is the code this tab's model ran (the person typed it here, or
    agreed to it here); other code is not restored."""
    meta = str(await window.keepStore.meta() or '')
    url = str(await window.keepStore.stateUrl())
    if not url or not meta:
        return False
    source = json.loads(meta).get('source') or 'the saved run'
    try:
        r = await import_locked(url, source, 'Restored: ' + source, '')
        if 'code_consent' in r and await is_own_code(r['code_consent']):
            r = await import_locked(url, source, 'Restored: ' + source, code_offer.LOAD)
    finally:
        js.URL.revokeObjectURL(url)
    if 'error' in r or 'code_consent' in r:
        return False
    keeping.saved = (r['generation'], r['step'])
    return True


async def is_own_code(consent):
    """Whether a state's edited code (its code_consent: changed files and diff) is the code this tab's model
    ran: the same diff against the shipped files."""
    own = own_code[0]()
    if not own:
        return False
    d = await client.code_check(json.dumps(own))
    return 'error' not in d and d['diff'] == consent['diff']


def saved_is_current():
    return keeping.saved is not None and page.model is not None and keeping.saved[0] == page.model['generation']


def hide_offer():
    keeping.offer = None
    el('resume').hidden = True


# -- Save model, Load model, Save chart ------------------------------------------------------------------
@on('click', '#save-model')
async def on_save_model(event):
    await wait_ready()
    async with lock:
        if page.model is None:
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
    if framed_by_another_site():  # a file can carry code
        el('load-model').value = ''
        alert.show('Load model is off: %s.' % FRAMED)
        return
    await wait_ready()
    async with lock:
        el('load-model').value = ''
        if not may_discard('Loading %s replaces the model.' % name):
            return
    url = js.URL.createObjectURL(file)
    try:
        r = await import_asking(url, name, 'Loaded: ' + name)
    finally:
        js.URL.revokeObjectURL(url)
    if 'error' in r:
        message = r['error'] if r['error'].startswith(name) else name + ': ' + r['error']
        alert.show(message + '. The current model is kept.', 'info' if r.get('declined') else 'error')
        return
    alert.show('Loaded %s at step %d.' % (name, r['step']), 'info')


@on('click', '#save-chart')
async def on_save_chart(event):
    why = str(await window.saveChart('microgpt-loss-chart.png'))
    if why:
        alert.show('Save chart: ' + why)
