# Rendering helpers of the page (MicroPython): the DOM, the alert line, event handlers, number formats.
import asyncio

import js
from pyscript import document, when


def el(id_):
    return document.getElementById(id_)


def set_text(id_, text):
    el(id_).textContent = text


def now():
    return js.performance.now()


busy = set()  # selectors of the click handlers running or queued (waiting for the lock)
after_busy = []  # called when `busy` changes (status.py: their buttons are disabled meanwhile)


def on(event_type, selector):
    """Register an async handler for a DOM event, run as an asyncio task.

    A click while the handler's previous click is still running or queued is dropped (and status.py disables
    the action's button meanwhile): a storm of clicks leaves at most one of each action to do, never a queue
    that acts for a minute. (MicroPython's asyncio.Lock only hands over between asyncio tasks: a coroutine
    that a JS event runs directly can hang the page while it waits for the lock.)"""
    def decorator(handler):
        def start_task(event):  # no closure of a coroutine here: PyScript would take start_task for one
            if event_type != 'click':
                asyncio.create_task(handler(event))
            elif selector not in busy:
                _set_busy(selector, True)
                asyncio.create_task(_click(handler, selector, event))
        when(event_type, selector)(start_task)
        return handler
    return decorator


async def _click(handler, selector, event):
    try:
        await handler(event)
    finally:
        _set_busy(selector, False)


def _set_busy(selector, now_busy):
    if now_busy:
        busy.add(selector)
    else:
        busy.discard(selector)
    for hook in after_busy:
        hook()


class Alert:
    """The page's one alert line; `kind` says who put the message there, so only they clear it. A 'gone'
    message (the worker is gone) stays until the worker is back: nothing else is worth saying then."""

    def __init__(self):
        self.kind = ''

    def show(self, message, kind='error'):
        if self.kind == 'gone' and kind != 'gone':
            return
        set_text('alert', message)
        self.kind = kind

    def clear(self, kind=None):
        if self.kind == 'gone' and kind != 'gone':
            return
        if kind is None or self.kind == kind:
            set_text('alert', '')
            self.kind = ''


alert = Alert()


def thousands(n):
    s = str(int(n))
    out = ''
    while len(s) > 3:
        out = ',' + s[-3:] + out
        s = s[:-3]
    return s + out


def clock(seconds):
    seconds = int(seconds + 0.5)
    h, rest = seconds // 3600, seconds % 3600
    m, s = rest // 60, rest % 60
    if h:
        return '%d:%02d:%02d' % (h, m, s)
    return '%d:%02d' % (m, s)


def plural(n, word):
    return thousands(n) + ' ' + word + ('' if n == 1 else 's')
