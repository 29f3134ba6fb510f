# A worker that is gone (crashed, out of memory, closed): the page says so and offers Restart, which starts a
# fresh worker with the same dataset and settings (MicroPython).
import client
import datasets
import keep
import models
from session import lock, page
from status import update_buttons, update_status
from ui import alert, el, on, plural, set_text


def report_worker_gone(why):
    page.running = False
    page.worker_gone = why
    trained = ' The model of %s is lost.' % plural(page.model['step'], 'step') if page.model_started() else ''
    alert.show(why[0].upper() + why[1:] + '.' + trained + ' Restart starts a fresh worker with the same dataset '
               'and settings.', 'gone')
    el('restart').hidden = False
    update_status()
    update_buttons()


client.connection.on_gone = report_worker_gone


@on('click', '#restart')
async def on_restart(event):
    el('restart').hidden = True
    set_text('status', 'Starting a fresh Python worker…')
    async with lock:
        page.restarts += 1
        try:
            await client.restart(page.restarts)
        except Exception as e:  # noqa: BLE001
            report_worker_gone('a fresh worker could not start (%s)' % e)
            return
        page.worker_gone = ''
        alert.clear('gone')
        restore = keep.saved_is_current()  # the gone model's last autosave is stored
        page.model = None
        info = await client.init(page.base)
        if 'error' not in info and restore and await keep.restore_locked():
            alert.show('A fresh Python worker is ready, with the run restored from its last autosave (%s).' % (
                plural(page.model['step'], 'step')), 'info')
            return
        if 'error' in info or not await datasets.restage_locked():
            report_worker_gone('a fresh worker could not load the dataset (%s)' % info.get('error', 'see above'))
            return
        if await models.reset_model_locked():
            alert.show('A fresh Python worker is ready, with the same dataset and settings.', 'info')
        update_status()
        update_buttons()
