# The page's state in its URL fragment (MicroPython), so that a link opens the same run on every machine:
#   #n_embd=32&seed=7&data=pokemon&engine=efficient&lock=seed,data&hide=verify&title=...&note=...
# Every setting that differs from its default (names from microgpt/config.py's SETTINGS, checked by the worker's
# check_link with the same description as the form), the dataset (share_data.py), the engine, and what a
# teacher fixed: `lock` (shown, not editable), `hide` (controls or panels), `title` and `note` (text at the top).
# Opening a link applies all of it before the first model; a bad part is named in one message and the rest
# applies. Every change is written back with history.replaceState (no new history entry). Browser APIs: share.js.
import json

from pyscript import window

import client
import code_link
from constants import ENGINES, MAX_NOTE, MAX_TITLE
import datasets
import share_data
from session import lock, page
from settings_form import CHECKBOXES, NAMES, default_value, read_value, write_value
from ui import alert, el, on, set_text

LOCKABLE = list(NAMES) + ['data', 'engine']
# hide= names: what a teacher may hide, (label, how to find it)
HIDE_ORDER = [  # (a list: MicroPython's dicts do not keep their order)
    ('chart', ('Loss chart', lambda: el('chart'))),
    ('samples', ('Samples', lambda: el('samples').closest('section'))),
    ('engine', ('Engine panel', lambda: el('engine').closest('section'))),
    ('verify', ('Verify button', lambda: el('verify'))),
    ('data', ('Dataset panel', lambda: el('dataset').closest('section'))),
    ('upload', ('Upload field', lambda: el('upload').closest('.field'))),
    ('paste', ('Paste box', lambda: el('use-paste').closest('details'))),
    ('url', ('URL loader', lambda: el('data-url').closest('.field'))),
    ('settings', ('Model and training panel', lambda: el('settings').closest('section'))),
    ('advanced', ('Advanced settings', lambda: el('settings').querySelector('details.advanced'))),
    ('download', ('Download log button', lambda: el('download'))),
    ('share', ('Share panel', lambda: el('share-card'))),
    ('code', ('Code panel', lambda: el('code-card'))),
]
HIDEABLE = dict(HIDE_ORDER)


class Link:
    """What the opened link fixed (kept in the address bar as the user changes the rest)."""

    def __init__(self):
        self.lock = []
        self.hide = []
        self.title = ''
        self.note = ''
        self.listeners = []  # called with the state's pairs after every write (the Share panel)


opened = Link()


def shown(text, limit=40):
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + '…')


def same_number(a, b):
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


# -- the link's parts ------------------------------------------------------------------------------------------
MAX_NAMED = 12  # ignored parts (and unknown names in lock= and hide=) named in the message; the rest counted


def read_parts():
    """([[key, value or None, why ignored or '']] of the address bar's fragment, why the whole link is refused or
    ''): a fragment too long or of too many parts is refused before any part is read (share.js)."""
    parts = json.loads(str(window.shareLink.parse()))
    if isinstance(parts, dict):
        return [], parts['refused']
    return parts, ''


def some(items, limit=MAX_NAMED):
    """The first `limit` items, and how many more there are as one more item."""
    return items if len(items) <= limit else items[:limit] + ['and %d more' % (len(items) - limit)]


def name_list(key, value, allowed, ignored):
    names = [n.strip() for n in value.split(',') if n.strip()]
    bad = [n for n in names if n not in allowed]
    if bad:
        ignored.append('%s: %s %s not known (known: %s)' % (key, ', '.join(some([shown(b) for b in bad])),
                                                            'is' if len(bad) == 1 else 'are', ', '.join(allowed)))
    return [n for n in names if n in allowed]


async def open_link_locked():
    """Apply the link the page was opened with: settings, engine, then the dataset (which makes the first
    model); the first preset when the link names no dataset or a bad one. Messages name what was ignored."""
    share_data.add_reference_option()
    ignored, seen, settings, data, engine, code = [], set(), [], None, None, None
    parts, refused = read_parts()
    for key, value, why in parts:
        if why:
            ignored.append('%s %s' % (shown(key), why))
        elif key in seen:
            ignored.append('%s appears twice (the first is used)' % shown(key))
        elif key in ('lock', 'hide'):
            allowed = LOCKABLE if key == 'lock' else [n for n, _ in HIDE_ORDER]
            setattr(opened, key, name_list(key, value, allowed, ignored))
        elif key in ('title', 'note'):
            limit = MAX_TITLE if key == 'title' else MAX_NOTE
            if len(value) > limit:
                ignored.append('%s is %d characters long (the limit is %d)' % (key, len(value), limit))
            else:
                setattr(opened, key, value.strip())
        elif key == 'engine':
            if value in ENGINES:
                engine = value
            else:
                ignored.append('engine: %s is not an engine (%s)' % (shown(value), ' or '.join(ENGINES)))
        elif key == 'data':
            data = value
        elif key == 'code':
            code = value
        else:
            settings.append([key, value])  # in the link's order: on a conflict the first win
        seen.add(key)
    if settings:
        r = await client.check_link(settings)
        if 'error' in r:
            ignored.append('the settings could not be checked (%s)' % r['error'])
        else:
            for name, text in r['settings'].items():
                write_value(name, text)
            ignored.extend('%s: %s' % (shown(name), why) for name, why in r['ignored'])
    if engine is not None:
        el('engine').value = engine
    loaded = False
    if data is not None:
        why = await share_data.load_part_locked(data)
        if why:
            ignored.append('data: ' + why)
        loaded = not why
    if not loaded:
        await datasets.load_preset_locked(page.presets[0]['id'])
    if code is not None:
        why = await code_link.offer_locked(code)  # shown with its changes: nothing runs unless the user asks
        if why:
            ignored.append('code: ' + why)
    show_lesson()
    apply_lock_and_hide()
    await write_locked()
    if refused:
        alert.show('This link was not applied: %s. The page opened with its defaults.' % refused, 'link')
    elif ignored:
        alert.show('This link has parts that were ignored: ' + '; '.join(some(ignored)) +
                   '. The rest of the link was applied.', 'link')


# -- what the link fixes -----------------------------------------------------------------------------------------
def show_lesson():
    set_text('lesson-title', opened.title)
    set_text('lesson-note', opened.note)
    el('lesson').hidden = not (opened.title or opened.note)


def apply_lock_and_hide():
    for name in opened.lock:
        if name in NAMES:
            el(name).readOnly = True
            el(name).disabled = name in CHECKBOXES  # a check box has no read-only state
            el(name).title = 'Fixed by the link'
        elif name == 'engine':
            el('engine').disabled = True
        elif name == 'data':
            el('dataset').disabled = True
            for part in ('upload', 'paste', 'url'):
                HIDEABLE[part][1]().hidden = True
    for name in opened.hide:
        HIDEABLE[name][1]().hidden = True


def extra_pairs(lock_names, hide_names, title, note):
    pairs = []
    if lock_names:
        pairs.append(['lock', ','.join(lock_names)])
    if hide_names:
        pairs.append(['hide', ','.join(hide_names)])
    if title:
        pairs.append(['title', title])
    if note:
        pairs.append(['note', note])
    return pairs


# -- the state, written back --------------------------------------------------------------------------------------
async def state_pairs():
    """[[key, value]] of the page's state: settings that differ from their defaults (and are valid), the
    dataset, the engine; and why the dataset cannot travel in a link ('' when it can)."""
    pairs = []
    for name in NAMES:
        text = read_value(name).strip()
        if name not in page.errors and not same_number(text, default_value(name)):
            pairs.append([name, text])
    data, why = await share_data.current_part()
    if data:
        pairs.append(['data', data])
    if el('engine').value != ENGINES[0]:
        pairs.append(['engine', str(el('engine').value)])
    code, why_code = await code_link.current_part()
    if code:
        pairs.append(['code', code])
    return pairs, ' '.join(w for w in (why, why_code) if w)


async def write_locked():
    """The address bar's fragment from the state now (history.replaceState)."""
    if not page.ready and page.model is None and not page.presets:
        return
    pairs, why = await state_pairs()
    window.shareLink.write(json.dumps(pairs + extra_pairs(opened.lock, opened.hide, opened.title, opened.note)))
    for listener in opened.listeners:
        await listener(pairs, why)


async def on_state_change(event):
    async with lock:  # after the handlers that change the state (they take the lock first)
        if page.model is not None:
            await write_locked()


on('change', 'body')(on_state_change)
on('click', '#use-paste, #load-url, #restart, #code-train')(on_state_change)
