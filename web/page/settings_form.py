# The settings form (MicroPython). build.py writes its fields from microgpt/config.py, the settings' one
# description: each input has the setting's name as its id and `data-setting`; this module reads them from
# the page, asks the worker to check them, and shows the parameter count or the engine's message.
from pyscript import document

import client
from session import page
from status import update_buttons
from ui import alert, el, plural, set_text, thousands

NAMES = [str(i.id) for i in document.querySelectorAll('[data-setting]')]  # in the order of the form
LABELS = {name: str(el(name).getAttribute('data-label')) for name in NAMES}
CHECKBOXES = [name for name in NAMES if str(el(name).type) == 'checkbox']  # a setting of kind bool


def read_value(name):
    """The text of a setting as typed (a check box: 'True' or 'False', as the setting's parse reads it)."""
    field = el(name)
    return str(bool(field.checked)) if name in CHECKBOXES else str(field.value)


def default_value(name):
    field = el(name)
    return str(bool(field.defaultChecked)) if name in CHECKBOXES else str(field.defaultValue)


def write_value(name, value):
    """Show a setting's value (a config's, or a link's text) in its field."""
    if name in CHECKBOXES:
        el(name).checked = str(value) == 'True'
    else:
        el(name).value = str(value)


def read_settings():
    return {name: read_value(name) for name in NAMES}


async def describe():
    d = await client.describe(read_settings(), el('engine').value)  # the limits are the engine's
    show_description(d)
    return d


def clear_errors():
    for name in NAMES:
        set_text('err-' + name, '')
        el(name).removeAttribute('aria-invalid')
    page.errors = {}
    page.errors_model_only = False


def show_error(d):
    """The engine's message beside the setting it concerns (the one typed in last, if the rule names it),
    every setting the rule concerns marked invalid, and the message in the alert line."""
    fields = [f for f in (d.get('fields') or [d.get('field')]) if f in LABELS] or [NAMES[0]]
    field = page.last_edited if page.last_edited in fields else fields[0]
    page.errors[field] = d['error']
    page.errors_model_only = bool(d.get('model_only'))
    set_text('err-' + field, d['error'])
    for name in fields:
        el(name).setAttribute('aria-invalid', 'true')
    hint = '. Reset starts a new model with these settings.' if d.get('model_only') else ''
    alert.show(LABELS[field] + ': ' + (d.get('rule') or d['error']) + hint, 'settings')
    update_buttons()


def show_description(d):
    """Parameter count and truncation note from describe(); the error when the settings are invalid."""
    if d.get('gone'):  # the worker is gone: the settings are neither valid nor invalid
        return
    clear_errors()
    if 'error' in d:
        show_error(d)
        set_text('params', '–')
        return
    alert.clear('settings')
    set_text('params', thousands(d['num_params']))
    n = d['truncated']
    if n:
        set_text('data-truncated', '%s longer than the block size (%d) allows: training sees only their first '
                                   '%d characters, not their end, as in the original.' % (
                                       plural(n, 'document is') if n == 1 else thousands(n) + ' documents are',
                                       d['block_size'], d['block_size']))
    else:
        set_text('data-truncated', 'Every document fits in the block size (%d).' % d['block_size'])
    update_buttons()


def put_back(config, names):
    """Show these settings as the model has them (the user kept the model)."""
    for name in names:
        write_value(name, config[name])
