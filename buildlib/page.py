"""What build.py writes into index.html from microgpt/: the shared constants and the settings form."""
import sys

from .paths import ROOT


def html_attr(text):
    return text.replace('&', '&amp;').replace("'", '&#39;').replace('"', '&quot;').replace('<', '&lt;')


def page_constants():
    """What the page shares with microgpt/, each spelled once there: the engines, the dataset size limit
    (data.py), what a link may carry (links.py). index.html gets them as JSON (web/page/constants.py and
    web/js/share.js read it) and in its own text."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from microgpt import data, links, trainer
    return {'engines': list(trainer.ENGINES.items()), 'max_dataset_bytes': data.MAX_BYTES, 'max_packed': links.MAX_PACKED,
            'max_code_bytes': links.MAX_CODE_BYTES, 'max_title': links.MAX_TITLE, 'max_note': links.MAX_NOTE}


def settings_form():
    """The page's settings form, one field per setting of microgpt/config.py (its only description)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from microgpt.config import SETTINGS

    def field(s):
        if s.kind is bool:  # a check box, its label after it
            checked = ' checked' if s.default else ''
            return (f'<div class="field check"><input type="checkbox" id="{s.name}" data-setting '
                    f'data-label="{s.label}" aria-describedby="err-{s.name}"{checked}>'
                    f'<label for="{s.name}">{s.label}</label><code>{s.name}</code>\n'
                    f'  <span class="field-error" id="err-{s.name}"></span></div>')
        # a text field: the worker reads exactly what was typed (a number field turns "1e400" or "NaN" into "")
        mode = ' inputmode="numeric"' if s.kind is int else ''
        return (f'<div class="field"><label for="{s.name}">{s.label}</label>\n'
                f'  <input type="text"{mode} id="{s.name}" data-setting data-label="{s.label}" '
                f'aria-describedby="err-{s.name}" value="{s.default!r}" autocomplete="off" spellcheck="false">'
                f'<code>{s.name}</code>\n'
                f'  <span class="field-error" id="err-{s.name}"></span></div>')
    main = [field(s) for s in SETTINGS if not s.advanced]
    advanced = [field(s) for s in SETTINGS if s.advanced]
    return '\n'.join(main + ['<details class="advanced">', '  <summary>Advanced (Adam)</summary>']
                     + advanced + ['</details>'])
