# The offer to resume (MicroPython): on opening the page, the runs kept in this browser (keep.js) are offered,
# Resume or Discard each, or Start fresh; a run resumed becomes the page's model as a loaded one does (keep.py).
import json

import js
from pyscript import document, window

from keep import hide_offer, import_asking, keeping
from session import lock, wait_ready
from ui import alert, el, on, plural


# -- the offer -------------------------------------------------------------------------------------
def saved_ago(saved):
    seconds = max(0, (js.Date.now() - saved) / 1000)
    for unit, size in (('day', 86400), ('hour', 3600), ('minute', 60)):
        if seconds >= size:
            return 'saved %s ago' % plural(int(seconds // size), unit)
    return 'saved just now'


async def offer_resume_locked():
    """On opening the page: the runs kept in this browser (but other open tabs'), newest first, are offered:
    Resume or Discard each, or Start fresh. Storage refused is said instead."""
    refused = str(await window.keepStore.refusedAtOpen or '')
    if refused:
        keeping.refused = refused
        alert.show('Autosave is off: the browser refuses to store the run (%s). Training works; Save model keeps '
                   'it in a file.' % refused, 'keep')
        return
    try:
        runs = json.loads(str(await window.keepStore.runsAtOpen or '[]'))
    except Exception:  # noqa: BLE001 - nothing readable: nothing offered
        runs = []
    offered = {}
    box = el('resume-runs')
    box.textContent = ''
    for run in runs:
        try:
            meta = json.loads(run['meta'])
            step, total, rid = int(meta['step']), int(meta['num_steps']), str(run['id'])
            saved = float(run['saved'])
        except Exception:  # noqa: BLE001 - a record of another version: not offered
            continue
        if step <= 0:
            continue
        text = 'The run from step %d of %d (%s), %s' % (step, total, meta.get('summary', ''), saved_ago(saved))
        box.appendChild(offer_row(len(offered), rid, text))
        offered[rid] = meta
    if offered:
        keeping.offer = offered
        el('resume').hidden = False


def offer_row(i, rid, text):
    li = document.createElement('li')
    p = document.createElement('span')
    p.id = 'resume-run-%d' % i
    p.textContent = text
    li.appendChild(p)
    for label, action in (('Resume', 'resume'), ('Discard', 'discard')):
        b = document.createElement('button')
        b.type = 'button'
        b.textContent = label
        b.setAttribute('data-' + action, rid)
        b.setAttribute('aria-describedby', p.id)
        if action == 'resume':
            b.className = 'primary'
        li.appendChild(b)
    return li


@on('click', '#resume-runs')
async def on_offered_run(event):
    target = event.target
    rid = target.getAttribute('data-resume')
    if rid:
        await resume(str(rid))
        return
    rid = target.getAttribute('data-discard')
    if rid and keeping.offer and str(rid) in keeping.offer:
        del keeping.offer[str(rid)]
        target.parentNode.remove()
        await window.keepStore.discard(str(rid))
        if not keeping.offer:
            hide_offer()


async def resume(rid):
    await wait_ready()
    async with lock:
        meta = (keeping.offer or {}).get(rid)
        if meta is None:
            return
        hide_offer()
        url = str(await window.keepStore.stateUrl(rid))
    if not url:
        alert.show('The saved run is no longer in this browser (another tab resumed it?).')
        return
    try:
        r = await import_asking(url, meta.get('source') or 'the saved run', 'Resumed: ' + str(meta.get('source')))
    finally:
        js.URL.revokeObjectURL(url)
    if 'error' in r:
        alert.show('The saved run was not resumed: %s. A new model is ready instead.' % r['error'])
        return
    await window.keepStore.adopt(rid)  # this tab's run from now on
    keeping.saved = keeping.asked = (r['generation'], r['step'])
    alert.show('Resumed the run at step %d: press Train to continue.' % r['step'], 'info')


@on('click', '#resume-no')
async def on_start_fresh(event):
    hide_offer()  # the runs stay kept, offered again at the next visit (up to keep.js's bound)
