# The Share panel (MicroPython): builds a classroom link from the page's state (share.py) plus what a teacher
# fixes: check boxes for what to lock and hide (made when "Lock and hide" is first opened, so that their labels
# never clash with the settings' own), a title and a note. It shows the link, copies it (the Clipboard API;
# when the clipboard is refused the link is left selected in its field) and draws its QR code (share.js).
import json

from pyscript import document, window

import share
from session import lock
from settings_form import LABELS
from ui import el, on, set_text, thousands

QR_LIMIT = 2953  # bytes a QR code holds (version 40, low error correction)


class Panel:
    def __init__(self):
        self.pairs = []  # the state's pairs, as last written to the address bar
        self.why = ''  # why the dataset cannot travel in a link ('' when it can)
        self.built = False
        self.link = ''


shared = Panel()


def add_check(box, group, name, label, checked):
    row = document.createElement('label')
    row.className = 'check'
    check = document.createElement('input')
    check.type = 'checkbox'
    check.id = '%s-%s' % (group, name)
    check.value = name
    check.checked = checked
    check.setAttribute('data-share', group)
    row.appendChild(check)
    row.appendChild(document.createTextNode(' ' + label))
    box.appendChild(row)


def build_checks():
    if shared.built:
        return
    shared.built = True
    box = el('share-lock')
    for name in share.LOCKABLE:
        label = LABELS.get(name) or {'data': 'Dataset choice', 'engine': 'Engine choice'}[name]
        add_check(box, 'lock', name, label, name in share.opened.lock)
    box = el('share-hide')
    for name, (label, _) in share.HIDE_ORDER:
        add_check(box, 'hide', name, label, name in share.opened.hide)


def checked(group):
    if not shared.built:
        return list(share.opened.lock if group == 'lock' else share.opened.hide)
    return [str(c.value) for c in document.querySelectorAll('input[data-share="%s"]:checked' % group)]


def refresh():
    """The link from the state and the panel's choices: the preview, its size, the QR code."""
    extra = share.extra_pairs(checked('lock'), checked('hide'), str(el('share-title').value).strip(),
                              str(el('share-note').value).strip())
    shared.link = str(window.shareLink.linkFor(json.dumps(shared.pairs + extra)))
    el('share-link').value = shared.link
    size = '%s characters.' % thousands(len(shared.link))
    if len(shared.link) > QR_LIMIT:
        window.shareLink.qr('share-qr', '')
        el('share-qr').hidden = True
        size += ' Too long for a QR code (it holds %s): share it as text.' % thousands(QR_LIMIT)
    else:
        el('share-qr').hidden = bool(window.shareLink.qr('share-qr', shared.link))
    set_text('share-size', size)
    set_text('share-data', shared.why)
    set_text('copy-result', '')


async def on_state(pairs, why):
    if not shared.pairs and not shared.link:  # the first time: the panel starts from what the opened link fixed
        el('share-title').value = share.opened.title
        el('share-note').value = share.opened.note
    shared.pairs, shared.why = pairs, why
    refresh()


share.opened.listeners.append(on_state)


@on('toggle', '#share-fix')
async def on_open(event):
    if el('share-fix').open:
        build_checks()


@on('input', '#share-title, #share-note')
async def on_text(event):
    refresh()


@on('change', '#share-lock, #share-hide')
async def on_check(event):
    refresh()


@on('click', '#copy-link')
async def on_copy(event):
    async with lock:  # the state's last change is written first
        pass
    refresh()
    if await window.shareLink.copy(shared.link, 'share-link'):
        set_text('copy-result', 'Copied: paste it in a message, or show the QR code.')
    else:
        set_text('copy-result', 'The browser refused the clipboard: the link is selected in the Link field, '
                                'press Ctrl+C (⌘C on a Mac) to copy it.')
