# Datasets (MicroPython): the presets, an uploaded word list, pasted text. The worker parses a dataset and
# holds it "staged"; the page adopts it, asking first when that discards a trained model.
import js
from pyscript import document, window

import client
from constants import MAX_DATASET_BYTES
from models import reset_model_locked
from session import lock, may_discard, page, wait_ready
from ui import alert, el, on, plural, set_text

EXTRA = {}  # Dataset choices loaded by other modules: value -> async loader, run under the lock (share_data.py)


def show_dataset(info):
    set_text('data-summary', '%s · %s · vocabulary %d (%s + BOS)' % (
        info['source'], plural(info['documents'], 'document'), info['vocab_size'],
        plural(info['vocab_size'] - 1, 'character')))
    box = el('data-examples')
    box.textContent = ''
    for doc in info['examples']:
        span = document.createElement('span')
        span.className = 'chip'
        span.textContent = doc
        span.title = doc  # the whole document on hover: a long one is cut with an ellipsis
        box.appendChild(span)


def show_presets(presets):
    page.presets = presets
    select = el('dataset')
    select.textContent = ''
    for p in presets:
        option = document.createElement('option')
        option.value = p['id']
        option.textContent = p['label']
        select.appendChild(option)
    page.dataset_choice = presets[0]['id']


def restore_dataset_choice():
    el('dataset').value = page.dataset_choice


def set_custom_option(label):
    select = el('dataset')
    option = el('dataset-custom')
    if option is None:
        option = document.createElement('option')
        option.id = 'dataset-custom'
        option.value = 'custom'
        select.appendChild(option)
    option.textContent = label


async def adopt_staged_locked(info, choice, custom_label=None, blob=None):
    """The worker has parsed a dataset (info): use it for a new model, asking first if one is trained."""
    if page.errors and page.model is not None:
        alert.show('Fix the settings marked in red first: the new dataset needs a new model.')
        restore_dataset_choice()
        return False
    if not may_discard('Training on %s (%s) starts a new model.' % (
            info['source'], plural(info['documents'], 'document'))):
        restore_dataset_choice()
        return False
    page.running = False
    adopted = await client.adopt()
    if 'error' in adopted:
        alert.show(adopted['error'])
        restore_dataset_choice()
        return False
    show_dataset(adopted)
    if custom_label is not None:
        set_custom_option(custom_label)
    page.dataset_choice = choice
    page.dataset_blob = None if blob is None else (blob, info['source'])
    el('dataset').value = choice
    alert.clear()
    await reset_model_locked()
    return True


async def load_preset_locked(preset_id):
    for p in page.presets:
        if p['id'] == preset_id:
            info = await client.stage_url(page.base + p['file'], p['label'])
            if 'error' in info:
                alert.show(info['error'])
                restore_dataset_choice()
                return False
            return await adopt_staged_locked(info, preset_id)
    restore_dataset_choice()
    return False


async def stage_blob(blob, name):
    """The worker's DATASET answer for a Blob (a file, a paste, a link's list), read through a blob: URL."""
    url = js.URL.createObjectURL(blob)
    try:
        return await client.stage_url(url, name)
    finally:
        js.URL.revokeObjectURL(url)


async def load_blob_locked(blob, name, label):
    """An uploaded file or pasted text (a Blob): its size checked here, its bytes read by the worker."""
    if blob.size > MAX_DATASET_BYTES:  # refused before reading a byte
        alert.show('%s is %.1f MB; the limit is %d MB. The current dataset is kept.' % (
            name, blob.size / 1e6, MAX_DATASET_BYTES // (1024 * 1024)))
        return False
    info = await stage_blob(blob, name)
    if 'error' in info:
        alert.show(info['error'] + '. The current dataset is kept.')
        return False
    return await adopt_staged_locked(info, 'custom', label, blob)


async def load_file_locked(file):
    name = str(file.name)
    return await load_blob_locked(file, name, 'Your file: ' + name)


async def restage_locked():
    """The current dataset again, in a fresh worker. True when it is back."""
    if page.dataset_blob is not None:
        info = await stage_blob(*page.dataset_blob)
    else:
        # (a preset; for a loaded run whose documents could not be read, the first preset)
        preset = ([p for p in page.presets if p['id'] == page.dataset_choice] or page.presets)[0]
        info = await client.stage_url(page.base + preset['file'], preset['label'])
    return 'error' not in info and 'error' not in await client.adopt()


async def load_file_chosen_early_locked():
    """A file chosen in the upload field before this module listened to it (while the page was loading)."""
    files = el('upload').files
    if files.length and page.uploads == 0:
        await load_file_locked(files.item(0))
        el('upload').value = ''


@on('change', '#dataset')
async def on_dataset(event):
    await wait_ready()
    choice = el('dataset').value
    if choice == 'custom' or choice == page.dataset_choice:
        restore_dataset_choice()
        return
    async with lock:
        if choice in EXTRA:
            await EXTRA[choice]()
        else:
            await load_preset_locked(choice)


@on('change', '#upload')
async def on_upload(event):
    files = el('upload').files
    if not files.length:
        return
    file = files.item(0)  # this choice, whatever is chosen while it waits
    page.uploads += 1
    mine = page.uploads
    await wait_ready()
    async with lock:
        if mine == page.uploads:  # a file chosen later wins: this one is skipped
            await load_file_locked(file)
            el('upload').value = ''


@on('click', '#use-paste')
async def on_paste(event):
    await wait_ready()
    blob = window.textBlob('paste')  # as it is now, before waiting for the lock
    async with lock:
        await load_blob_locked(blob, 'pasted text', 'Pasted text')
