# Attention (MicroPython): for a word typed in Word, or a sample clicked, a heatmap per layer and head of the
# current model's attention weights over the word's positions (views.js draws them, each with a text
# alternative). The worker computes them (worker.py's attention: forward only); views.py says when.
import json

from pyscript import window

import client
import views
from ui import el, on, set_text


async def ask():
    return await client.attention(str(el('attention-word').value))


def show(r, ms):
    if not views.said(r, 'attention-word', 'attention-maps'):
        return
    window.views.heatmaps('attention-maps', json.dumps(r))
    note = 'Step %d: row = the position reading (its input character), column = the position it attends to.' % r['step']
    if r['truncated']:
        note += ' Only the first %d positions fit in the block size.' % len(r['tokens'])
    set_text('attention-note', note)
    views.timed('attention-maps', r, ms)


VIEW = views.live(ask, show)


@on('click', '#show-attention')
async def on_show(event):
    await VIEW.refresh()


@on('keydown', '#attention-word')
async def on_key(event):
    await views.on_enter(VIEW, event)


@on('click', '#samples')
async def on_sample(event):
    if views.take_sample(event, 'attention-word'):
        await VIEW.refresh()
