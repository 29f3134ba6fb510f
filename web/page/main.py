# The page's main thread (MicroPython): start-up and wiring. Each concern is its own module:
#   ui.py             DOM helpers, the alert line, number formats
#   session.py        what the page knows between events, and the lock
#   client.py         the page's half of the worker protocol (the table: web/worker/protocol.py)
#   status.py         buttons, status line, figures, samples
#   settings_form.py  the settings form build.py writes from microgpt/config.py
#   models.py         a new model, settings applied to the current one, the engine switch
#   model_answer.py   a MODEL answer as the page keeps it (page.model): every place that takes one
#   training.py       the training loop and its buttons, Verify
#   datasets.py       presets, uploads, pasted text
#   restart.py        a worker that is gone: the message and Restart
#   share.py          the state in the URL fragment: a link opens the same run (share_data.py: its dataset,
#                     share_panel.py: the Share panel that builds one)
#   packed.py         a word list or code packed into a link, and unpacked from one (code_link.py: code)
#   keep.py           Save model, Load model, autosave, Save chart
#   keep_offer.py     the offer to resume the runs kept in this browser
#   overlay.py        the previous run's curve on the chart after a new model, and the validation line's legend
#   views.py          what the views share: asked between training batches, refreshed while training
#   next_token.py     the next-character probabilities after a Prefix (views.js draws the bars)
#   attention.py      attention heatmaps of a word (views.js draws them)
#   code_panel.py     the Code panel: the engine's files in an editor, Train with my code, Stop
#   framing.py        shown inside a frame of another site: a link's or a file's code is not loaded
# Importing a module registers its event handlers. Start-up marks its steps (performance marks "microgpt:...",
# benchmarks/browser.py prints them as a timeline); a step that fails says what failed and what still works.
import asyncio

from pyscript import window

import attention  # noqa: F401 - the Attention view's handlers
import client
import code_panel
import datasets
import keep  # noqa: F401 - Save model, Load model, Save chart's handlers
import keep_offer
import models
import next_token  # noqa: F401 - the Next character view's handlers
import restart  # noqa: F401 - its button's handler, and what the page does when the worker is gone
import share
import share_panel  # noqa: F401 - the Share panel's handlers
import stepper  # noqa: F401 - Step through's handlers
import training  # noqa: F401 - its buttons' handlers
from session import lock, page, ready_event
from status import update_buttons, update_status
from ui import alert, set_text


def mark(name):
    window.performance.mark('microgpt:' + name)


def why(e):
    """An exception as words: a JavaScript error's name and message, else Python's."""
    args = getattr(e, 'args', ())
    if len(args) == 3 and isinstance(args[1], str) and isinstance(args[2], str):  # JsException: (proxy, name, message)
        return '%s: %s' % (args[1], args[2])
    return '%s: %s' % (type(e).__name__, e) if str(e) else type(e).__name__


async def step(failed, what, still, run):
    """One step of start-up that the page can do without: a failure is kept as words (what failed, what still
    works) and start-up goes on."""
    try:
        await run()
        return True
    except Exception as e:  # noqa: BLE001 - no step of start-up may stop the page silently
        failed.append('%s failed (%s): %s' % (what, why(e), still))
        return False


async def start():
    mark('main-start')
    async with lock:
        try:
            await client.connect('trainer')
            mark('worker-connected')
            page.base = str(window.shareLink.base())
            info = await client.init(page.base)
            mark('init')
        except Exception as e:  # noqa: BLE001
            info = {'error': why(e)}
        if 'error' in info:
            set_text('status', 'Python could not start.')
            alert.show('Python could not start: %s. The page cannot train without it; reload to try again.'
                       % info['error'])
            return
        failed = []
        datasets.show_presets(info['presets'])
        await step(failed, 'The Code panel', 'training works with the shipped code', code_panel.load_files_locked)
        # the link's settings, engine and dataset (else the first preset), then a file chosen while Python
        # was loading (if any) replaces the dataset
        if not await step(failed, 'Opening the link', 'the page opened with its defaults', share.open_link_locked):
            await datasets.load_preset_locked(page.presets[0]['id'])
        await step(failed, 'The file chosen while Python loaded', 'choose it again',
                   datasets.load_file_chosen_early_locked)
        mark('dataset')
        # before Train is enabled: a stored run is offered first
        await step(failed, 'Reading the saved run', 'training works; Save model keeps a run in a file',
                   keep_offer.offer_resume_locked)
        mark('resume-offer')
        page.ready = True
        ready_event.set()
        try:
            if page.model is None:
                await models.reset_model_locked()
        except Exception as e:  # noqa: BLE001
            set_text('status', 'No model could be made.')
            alert.show('No model could be made (%s). Reload to try again.' % why(e))
            return
        update_status()
        update_buttons()
        if failed:
            alert.show('The page started, but: ' + '; '.join(failed) + '.')
        mark('ready')


asyncio.create_task(start())
