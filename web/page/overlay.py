# Two runs on one chart (MicroPython): after a new model (Reset, a setting or dataset that needs one, Load
# model), the previous run's smoothed loss stays on the chart as a faint line labelled with what differed
# ("n_embd 16 -> 32"), until "Clear overlay". Also what else the chart shows of the new model: its validation
# loss and the loss of guessing uniformly when it holds documents out (page.js's lossChart draws them).
import json

from pyscript import window

import settings_form
from ui import el, on


from session import page


class Runs:
    def __init__(self):
        self.previous = None  # what made the overlaid run: [[name, value]] in the form's order


runs = Runs()


def facts(info):
    """What made a run (a MODEL answer): its settings (but the temperature: sampling only), engine, dataset."""
    config = info['config']
    out = [[name, str(config[name])] for name in settings_form.NAMES if name in config and name != 'temperature']
    return out + [['engine', str(info['engine'])], ['dataset', str(info.get('source', ''))]]


def differences(before, after):
    """'n_embd 16 -> 32, seed 42 -> 7' (or 'same settings')."""
    now = dict(after)
    changed = ['%s %s -> %s' % (name, value, now.get(name, '?'))
               for name, value in before if now.get(name) != value]
    return ', '.join(changed) if changed else 'same settings'


def chart_options(info):
    """lossChart.reset's options (JSON) for a new model: the run so far becomes the overlay if it drew any
    point; an overlay already shown stays, relabelled against the new model."""
    keep = window.lossChart.size() > 0 and page.model is not None
    if keep:
        runs.previous = facts(page.model)  # as it is now (Steps and the engine may have changed since it began)
    label = 'previous run: ' + differences(runs.previous, facts(info)) if runs.previous is not None else ''
    el('clear-overlay').hidden = runs.previous is None
    split = info.get('split')
    note = ''
    if split:
        note = 'validation loss (%d held-out documents, every %d steps)' % (split['sample'], split['every'])
    return json.dumps({'keep': keep, 'label': label, 'vocab': info.get('vocab_size') or 0, 'validation': note})


@on('click', '#clear-overlay')
async def on_clear_overlay(event):
    runs.previous = None
    window.lossChart.clearOverlay()
    el('clear-overlay').hidden = True
