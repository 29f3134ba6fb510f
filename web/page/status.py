# How the run looks (MicroPython): the buttons that may be pressed, the status line and the figures, samples.
from pyscript import document

from session import page
import ui
from ui import clock, el, plural, set_text, thousands

after_update_buttons = []  # called after update_buttons (code_panel.py: its own buttons)
ACTIONS = ('train', 'step', 'pause', 'reset', 'generate', 'download', 'verify', 'use-paste', 'save-model', 'save-chart')


def update_buttons():
    ready, m = page.ready and not page.worker_gone, page.model
    valid = not page.errors
    can_step = ready and m is not None and valid and not page.running and not m['done']
    el('train').disabled = not can_step
    el('step').disabled = not can_step
    el('pause').disabled = not page.running
    el('reset').disabled = not (ready and (valid or page.errors_model_only))  # a new model may take them
    for id_ in ('generate', 'download', 'verify', 'use-paste', 'save-model', 'save-chart'):
        el(id_).disabled = not ready or (m is None and id_ != 'use-paste')
    for id_ in ACTIONS:
        if '#' + id_ in ui.busy:  # its last click is still being done
            el(id_).disabled = True
    for hook in after_update_buttons:
        hook()


def update_status():
    m = page.model
    if page.worker_gone:
        set_text('status', 'The Python worker is gone: press Restart.')
        return
    if m is None:
        set_text('status', 'No model: fix the settings marked in red.' if page.ready else 'Loading Python…')
        return
    step, total = m['step'], m['num_steps']
    if page.running and not m['done']:
        state = 'training'
    elif page.loop_alive and not m['done']:
        state = 'pausing…'
    elif m['done']:
        state = 'done'
    elif step:
        state = 'paused'
    else:
        state = 'ready: press Train'
    set_text('status', 'step %d / %d · %s' % (step, total, state))
    progress = el('progress')
    progress.max = total
    progress.value = step
    set_text('stat-loss', '–' if page.last_loss is None else '%.4f' % page.last_loss)
    set_text('stat-elapsed', clock(page.elapsed))
    rate = steps_per_second()
    if rate is None and not page.running and page.elapsed > 0.5 and step:
        rate = step / page.elapsed  # paused or done: the average so far
    if rate is None:
        set_text('stat-rate', '–')
        set_text('stat-eta', '–' if not m['done'] else '0:00')
    else:
        set_text('stat-rate', ('%.1f' % rate) if rate < 100 else thousands(rate))
        set_text('stat-eta', clock((total - step) / rate) if rate > 0 else '–')


def steps_per_second():
    if len(page.marks) < 2:
        return None
    (t0, s0), (t1, s1) = page.marks[0], page.marks[-1]
    if t1 - t0 < 200:
        return None
    return (s1 - s0) * 1000 / (t1 - t0)


def mark_step(t, step):
    """Remember (time, step) of an answer for steps per second, over the last 5 s."""
    page.marks.append((t, step))
    while len(page.marks) > 2 and t - page.marks[0][0] > 5000:
        page.marks.pop(0)


def show_samples(samples, temperature, step):
    ol = el('samples')
    ol.textContent = ''
    for text in samples:
        li = document.createElement('li')
        li.title = text if text else '(empty)'  # the whole sample, cut when long
        if text:  # a button: clicking it shows the sample's attention (attention.py)
            b = document.createElement('button')
            b.type = 'button'
            b.className = 'sample'
            b.textContent = text
            b.setAttribute('data-sample', text)
            b.setAttribute('aria-label', 'attention of ' + text)
            li.appendChild(b)
        else:
            li.textContent = '(empty)'
            li.className = 'empty'
        ol.appendChild(li)
    set_text('samples-note', 'After %s, at temperature %s:' % (plural(step, 'step'), temperature))


ui.after_busy.append(update_buttons)
