# A worker that is gone (crashed, out of memory, closed): the page says so and offers Restart, which starts a
# fresh worker with the same dataset and settings (MicroPython).
import client
import datasets
import keep
import models
from session import lock, page
from status import update_buttons, update_status
from ui import alert, el, on, plural, set_text


def worker_lost(why):
    page.running = False
    page.worker_lost = why
    trained = ' The model of %s is lost.' % plural(page.model['step'], 'step') if page.model_started() else ''
    alert.show(why[0].upper() + why[1:] + '.' + trained + ' Restart starts a fresh worker with the same dataset '
               'and settings.', 'dead')
    el('restart').hidden = False
    update_status()
    update_buttons()


client.connection.on_dead = worker_lost


@on('click', '#restart')
async def on_restart(event):
    el('restart').hidden = True
    set_text('status', 'Starting a fresh Python worker…')
    async with lock:
        page.restarts += 1
        try:
            await client.restart(page.restarts)
        except Exception as e:  # noqa: BLE001
            worker_lost('a fresh worker could not start (%s)' % e)
            return
        page.worker_lost = ''
        alert.clear('dead')
        restore = keep.saved_is_current()  # the gone model's last autosave is stored
        page.model = None
        info = await client.init(page.base)
        if 'error' not in info and restore and await keep.restore_locked():
            alert.show('A fresh Python worker is ready, with the run restored from its last autosave (%s).' % (
                plural(page.model['step'], 'step')), 'info')
            return
        if 'error' in info or not await datasets.restage_locked():
            worker_lost('a fresh worker could not load the dataset (%s)' % info.get('error', 'see above'))
            return
        if await models.reset_model_locked():
            alert.show('A fresh Python worker is ready, with the same dataset and settings.', 'info')
        update_status()
        update_buttons()
