# Next-character probabilities (MicroPython): the model's probability for every next character after the text
# typed in Prefix, at the temperature set, as one bar per character (views.js draws them; "end" is BOS, the
# word ending). Clicking a bar adds its character to Prefix. The worker computes them (worker.py's next_token:
# forward only, no random generator); views.py says when.
import json

from pyscript import window

import client
import views
from ui import el, on, set_text


async def ask():
    return await client.next_token(str(el('prefix').value), el('temperature').value)


def show(r, ms):
    if not views.said(r, 'prefix', 'next-bars'):
        set_text('next-note', '')
        return
    window.views.bars('next-bars', json.dumps(r['probs']))
    prefix = r['prefix']
    set_text('next-note', 'After %s, at temperature %s (step %d):' % (
        '“%s”' % prefix if prefix else 'the start of a word', r['temperature'], r['step']))
    views.timed('next-bars', r, ms)


VIEW = views.live(ask, show)


@on('input', '#prefix')
async def on_prefix(event):
    await VIEW.refresh()


@on('focus', '#prefix')
async def on_focus(event):
    if not VIEW.shown:
        await VIEW.refresh()


@on('change', '#temperature')
async def on_temperature(event):
    if VIEW.shown:
        await VIEW.refresh()
