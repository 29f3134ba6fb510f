# What the views of the model have in common (MicroPython): next_token.py and attention.py. A view asks the
# worker under the lock, so its call runs between two training batches (training.py lets waiting tasks in), and
# what it asks is forward only: training with the views open trains exactly as with them closed. Once shown, a
# view follows the model: it is asked again every REFRESH_MS while training, after a Step, and on a new model.
import asyncio

import models
import training
from session import lock, page, wait_ready
from ui import el, now, set_text

REFRESH_MS = 2000


class View:
    """One view: `ask()` (a coroutine: the worker's answer) and `show(answer, ms)` (draw it) are given."""

    def __init__(self, ask, show):
        self.ask, self.show = ask, show
        self.shown = False  # asked at least once: follow the model from now on
        self.busy = False
        self.again = False  # asked for while busy: ask once more when done
        self.last = -1e9  # when it was last asked
        self.generation = None  # the model its answer is about

    async def refresh(self):
        """Ask and draw now (or right after the call under way)."""
        await wait_ready()
        if self.busy:
            self.again = True
            return
        self.busy = True
        try:
            while True:
                self.again = False
                start = now()
                async with lock:
                    if page.model is None:
                        return
                    r = await self.ask()
                self.last = now()
                self.shown = True
                self.generation = page.model['generation'] if page.model is not None else None
                self.show(r, self.last - start)
                if not self.again:
                    break
        finally:
            self.busy = False

    def follow(self):
        """After steps shown: ask again if shown and due (or the model is a new one)."""
        if not self.shown or self.busy or page.model is None:
            return
        if (self.generation != page.model['generation'] or not page.running or page.model['done']
                or now() - self.last > REFRESH_MS):
            asyncio.create_task(self.refresh())


def live(ask, show):
    view = View(ask, show)
    training.after_steps.append(view.follow)
    training.quick_turns.append(lambda: view.shown)  # once shown, it is asked again while training
    models.after_new_model.append(view.follow)
    return view


def said(r, field, box):
    """A view's answer about its input field: an error is shown beside it (and the drawing cleared), else
    cleared. True when the answer can be drawn."""
    error = r.get('error', '')
    if error:
        el(field).setAttribute('aria-invalid', 'true')
        el(box).textContent = ''
    else:
        el(field).removeAttribute('aria-invalid')
    set_text(field + '-error', error)
    return not error


def timed(box, r, ms):
    """Mark a drawing with its answer's times (the worker's, and from the request to drawn) for the benchmark."""
    el(box).setAttribute('data-worker-ms', '%.1f' % r['ms'])
    el(box).setAttribute('data-ms', '%.1f' % ms)


async def on_enter(view, event):
    """A view's field: Enter asks the view."""
    if event.key == 'Enter':
        await view.refresh()


def take_sample(event, field):
    """A sample clicked (the samples are buttons with data-sample) goes into a view's field: True if one did.
    (Each view keeps its own module-level handlers: PyScript's MicroPython takes a closure or a bound method
    over a coroutine function for a coroutine function itself.)"""
    word = event.target.getAttribute('data-sample')
    if word is not None:
        el(field).value = word
    return word is not None
