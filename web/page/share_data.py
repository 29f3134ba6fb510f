# Datasets in a link (MicroPython): the `data=` part that names the current dataset, and loading a dataset
# from one. A preset by its id (`data=pokemon`); the reference's own names.txt (`data=names.txt`, fetched from
# the address the reference downloads it from, then kept in Cache Storage); a small word list packed into the
# link (`data=z:` + base64url of deflate-raw, at most MAX_PACKED['data'] characters: microgpt/links.py); a word
# list at an https: address
# (`data=url:https://...`, fetched only when the user asks or opens such a link). A dataset that fails to load
# leaves the current dataset and model as they were. The fetching and packing are in share.js.
from pyscript import document, window

import datasets
import packed
from constants import MAX_DATASET_BYTES
from session import lock, page, wait_ready
from ui import alert, el, on, set_text, thousands

REFERENCE_URL = 'https://raw.githubusercontent.com/karpathy/makemore/refs/heads/master/names.txt'
REFERENCE_ID = 'names.txt'
REFERENCE_LABEL = "names.txt (the reference's 32,033 names, from GitHub)"
# the only bytes accepted as names.txt, fetched or from Cache Storage (where anything with the site's rights could
# have planted others: a copy that differs is deleted and fetched again)
REFERENCE_SIZE = 228145
REFERENCE_SHA256 = '0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d'
FETCH_TIMEOUT_MS = 20000


class Known:
    """The `data=` part of the current uploaded, pasted, fetched or linked dataset (by its page.dataset_blob)."""

    def __init__(self):
        self.blob = None
        self.part = None
        self.why = ''


known = Known()


def remember(part):
    known.blob, known.part, known.why = page.dataset_blob, part, ''


async def current_part():
    """(the data= value for the current dataset, or None for the first preset; why it cannot travel or '')."""
    if page.dataset_blob is None:
        first = page.presets[0]['id'] if page.presets else ''
        return (None if page.dataset_choice == first else page.dataset_choice), ''
    if known.blob is not page.dataset_blob:
        blob, name = page.dataset_blob
        part, size = await packed.pack(blob, 'data')
        known.blob, known.part, known.why = page.dataset_blob, part, ''
        if part is None:
            known.why = ('%s (%s bytes) is too large to travel inside a link: %s. Host the file (any https: address) '
                         'and link to it with Load from URL.' % (name, thousands(blob.size), size))
    return known.part, known.why


def short(text, limit=120):
    return text if len(text) <= limit else text[:limit] + '…'


async def stage_locked(blob, name, choice, label, part):
    """A dataset as a Blob, staged by the worker and adopted; '' or why not."""
    info = await datasets.stage_blob(blob, name)
    if 'error' in info:
        return info['error']
    if not await datasets.adopt_staged_locked(info, choice, label, blob):
        return '%s was not used' % name
    remember(part)
    return ''


async def load_url_locked(address):
    """A word list at an https: address; '' or a message naming the address."""
    host = str(window.shareLink.host(address))
    set_text('data-loading', 'Loading from %s…' % (host or short(address, 60)))
    try:
        r = await window.shareLink.fetchText(address, MAX_DATASET_BYTES, FETCH_TIMEOUT_MS)
    finally:
        set_text('data-loading', '')
    if r.error:
        return '%s %s' % (short(address), r.error)
    name = address.split('?')[0].rstrip('/').split('/')[-1] or host
    return await stage_locked(r.blob, short(address), 'custom', 'From %s: %s' % (host, short(name, 40)),
                              'url:' + address)


async def load_reference_locked():
    set_text('data-loading', 'Loading names.txt from %s…' % window.shareLink.host(REFERENCE_URL))
    try:
        r = await window.shareLink.fetchKept(REFERENCE_URL, MAX_DATASET_BYTES, FETCH_TIMEOUT_MS, REFERENCE_SIZE,
                                             REFERENCE_SHA256)
    finally:
        set_text('data-loading', '')
    if r.error:
        return '%s %s' % (REFERENCE_URL, r.error)
    return await stage_locked(r.blob, 'names.txt', REFERENCE_ID, None, REFERENCE_ID)


async def load_part_locked(value):
    """The dataset a link's data= names; '' or why it was not loaded."""
    if value.startswith('z:'):
        blob, why = await packed.unpack(value, 'data', 'the word list in the link')
        if why:
            return why
        return await stage_locked(blob, 'the word list in the link', 'custom', 'From the link', value)
    if value.startswith('url:'):
        return await load_url_locked(value[4:])
    if value == REFERENCE_ID:
        return await load_reference_locked()
    ids = [p['id'] for p in page.presets]
    if value in ids:
        return '' if await datasets.load_preset_locked(value) else '%s could not be loaded' % value
    return '%s is not a dataset (presets: %s)' % (repr(short(value, 40)), ', '.join(ids + [REFERENCE_ID]))


def add_reference_option():
    option = document.createElement('option')
    option.value = REFERENCE_ID
    option.textContent = REFERENCE_LABEL
    el('dataset').appendChild(option)


async def choose_reference_locked():
    why = await load_reference_locked()
    if why:
        alert.show(why + '. The current dataset and model are kept.')
        datasets.restore_dataset_choice()


datasets.EXTRA[REFERENCE_ID] = choose_reference_locked


@on('click', '#load-url')
async def on_load_url(event):
    address = str(el('data-url').value).strip()
    if not address:
        alert.show('Type the address of a word list (https://…) in Load from URL first.')
        return
    await wait_ready()
    async with lock:
        why = await load_url_locked(address)
        if why:
            alert.show(why + '. The current dataset and model are kept.')
