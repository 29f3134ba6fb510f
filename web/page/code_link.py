# Edited code in a link (MicroPython): `code=z:...` is the current model's edited files ({path: text} as JSON),
# deflated and base64url-encoded like a word list packed into a link (share.js). Opening a link that carries
# code never runs it: the Code panel shows what it changes and asks (code_offer.py: Load this code, or Keep the
# original); loaded, it runs only when the user presses Train with my code.
import asyncio
import json

from pyscript import window

import client
import code_offer
import code_panel
import packed
from framing import FRAMED, framed_by_another_site



class Offer:
    def __init__(self):
        self.packed = None  # (model generation, code= value, why it cannot travel)


offer = Offer()


async def current_part():
    """(the code= value for the code the current model runs, or None; why it cannot travel in a link or '')."""
    code = code_panel.panel.model_code
    if not code:
        return None, ''
    generation = code_panel.panel.model_generation
    if offer.packed is None or offer.packed[0] != generation:
        part, size = await packed.pack(window.codeEditor.blob(json.dumps(code)), 'code')
        why = 'The edited code is too large to travel in a link: %s. Save model keeps it in a file.' % size
        offer.packed = (generation, part, why if part is None else '')
    return offer.packed[1], offer.packed[2]


async def offer_locked(value):
    """A link's code= part: shown with its changes, to be loaded or not. '' or why it was ignored."""
    if not value.startswith('z:'):
        return 'is not packed code (z:...)'
    if framed_by_another_site():
        return 'not offered: ' + FRAMED
    blob, why = await packed.unpack(value, 'code', 'the code in the link')
    if why:
        return why
    try:
        files = json.loads(str(await blob.text()))
        ok = isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
    except ValueError:
        ok = False
    if not ok:
        return 'the code in the link is not a set of files'
    known = json.loads(str(window.codeEditor.texts()))
    unknown = [k for k in files if k not in known]
    if unknown:
        return 'the link changes %s, which is not a file of the engine (%s)' % (
            ', '.join(repr(k[:60]) for k in unknown), ', '.join(known))
    d = await client.code_check(json.dumps(files))
    if 'error' in d:
        return 'the code in the link could not be compared (%s)' % d['error']
    if d['changed']:
        asyncio.create_task(ask(files, d))  # the page goes on while the person reads the changes
    return ''


async def ask(files, d):
    text = ('This link carries edited code (%s). Nothing of it runs unless you load it and press Train with my '
            'code. What it changes:' % ', '.join(d['changed']))
    if await code_offer.ask(text, d['diff'], "The link's changes") == code_offer.LOAD:
        window.codeEditor.setTexts(json.dumps(files))
        code_panel.start_editing()
        code_panel.show_message("The link's code is in the editor: press Train with my code to run it.", 'info')
