# The current model (MicroPython): a new one from the settings, settings applied to a trained one (asking
# before it is discarded), the engine switched under it. Callers hold session.lock.
from pyscript import window

import client
import confine
import model_answer
import overlay
import settings_form
from session import lock, may_discard, page, wait_ready
from status import update_buttons, update_status
from ui import alert, el, now, on, set_text


after_new_model = []  # called after the page shows a new model (views.py: the views follow it)


def new_model(answer):
    """Show a new model: a MODEL answer (of reset, code_train, import_state...)."""
    info = model_answer.model_of(answer)
    options = overlay.chart_options(info)  # before page.model changes: the previous run's settings
    page.model = info
    page.elapsed = 0.0
    page.marks = []
    page.last_loss = None
    page.last_sample = -1e9  # the first steps show samples at once
    window.lossChart.reset(info['num_steps'], options)
    el('samples').textContent = ''
    set_text('samples-note', 'A new model: press Train or Generate to see what it invents.')
    set_text('verify-result', '')
    el('engine').value = info['engine']
    update_status()
    update_buttons()
    for hook in after_new_model:
        hook()


async def reset_model_locked():
    """A fresh model from the settings on the page. False when they are invalid."""
    page.running = False
    d = await settings_form.describe()
    if 'error' in d and not d.get('model_only'):
        return False
    info = await confine.build_locked(False, lambda: client.reset(settings_form.read_settings(), el('engine').value))
    if 'error' in info:
        alert.show(info['error'])
        return False
    new_model(info)
    if 'error' in d:
        await settings_form.describe()  # the error was about the old model
    return True


async def apply_settings_locked():
    """Make the model agree with the settings on the page, asking before a trained model is discarded.

    Returns True when the model now matches the settings."""
    d = await settings_form.describe()
    if 'error' in d:
        return False
    if page.model is None:
        return await reset_model_locked()
    current, wanted, changed = page.model['config'], d['config'], d['changed']
    if changed:
        names = ', '.join(settings_form.LABELS[f] for f in changed)
        if not may_discard('Changing %s needs a new model.' % names):
            settings_form.put_back(current, changed)  # keep the model: put its settings back
            await settings_form.describe()
            return False
        return await reset_model_locked()
    if wanted != current:  # only settings that keep the model differ (the steps, the temperature): the worker's
        info = await client.keep_settings(settings_form.read_settings())
        if 'error' in info:
            settings_form.show_error(info)
            return False
        page.model = model_answer.model_of(info)
        if info['num_steps'] != current['num_steps']:
            page.marks = []
            window.lossChart.setTotal(info['num_steps'])
        update_status()
    update_buttons()
    return True


# -- the settings' and the engine's events ------------------------------------------------------------------
async def on_setting_input(event):
    page.last_edited = str(event.target.id)
    if page.ready:
        await settings_form.describe()


async def on_setting_change(event):
    page.last_edited = str(event.target.id)
    await wait_ready()
    async with lock:
        await apply_settings_locked()


for _name in settings_form.NAMES:
    on('input', '#' + _name)(on_setting_input)
    on('change', '#' + _name)(on_setting_change)


@on('change', '#engine')
async def on_engine(event):
    await wait_ready()
    async with lock:
        if page.model is None:  # settings too large for the other engine built none: try this one
            await apply_settings_locked()
            return
        engine = el('engine').value
        if engine == page.model['engine']:
            return
        info = await client.set_engine(engine)
        if 'error' in info:
            el('engine').value = page.model['engine']
            alert.show(info['error'])
            return
        page.model = model_answer.model_of(info)
        page.marks = [(now(), page.model['step'])] if page.running else []
        alert.clear()
        update_status()
        await settings_form.describe()  # the form's settings against this engine's limits
