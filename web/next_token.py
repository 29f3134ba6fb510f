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
    bars = el('next-bars')
    if 'error' in r:
        el('prefix').setAttribute('aria-invalid', 'true')
        set_text('prefix-error', r['error'])
        bars.textContent = ''
        set_text('next-note', '')
        return
    el('prefix').removeAttribute('aria-invalid')
    set_text('prefix-error', '')
    window.views.bars('next-bars', json.dumps(r['probs']))
    prefix = r['prefix']
    set_text('next-note', 'After %s, at temperature %s (step %d):' % (
        '“%s”' % prefix if prefix else 'the start of a word', r['temperature'], r['step']))
    bars.setAttribute('data-worker-ms', '%.1f' % r['ms'])
    bars.setAttribute('data-ms', '%.1f' % ms)


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
