# What the page knows between events (MicroPython): the worker's last answers about the model and the
# dataset, what the user asked for, and the lock under which calls that change the model run one at a time.
import asyncio

from pyscript import window

from ui import plural


class Page:
    def __init__(self):
        self.ready = False
        self.base = ''  # the page's folder URL, for the worker's fetches
        self.presets = []
        self.model = None  # the worker's MODEL answer (generation, step, num_steps, done, engine, config)
        self.dataset_choice = ''  # the Dataset select's value for the current dataset
        self.dataset_blob = None  # (Blob, name) of the current dataset if uploaded or pasted; None for a preset
        self.uploads = 0  # files chosen so far: only the latest is loaded
        self.errors = {}  # setting -> message, for settings that are invalid now
        self.errors_model_only = False  # ...for the current model only (Steps below the steps it has trained)
        self.last_edited = ''  # the setting the user typed in last: its errors are shown there
        self.worker_gone = ''  # why the worker is gone ('' while it answers)
        self.restarts = 0
        self.running = False  # the user wants training to continue
        self.loop_alive = False
        self.elapsed = 0.0  # seconds spent training this model
        self.marks = []  # (time ms, step) of recent answers, for steps per second
        self.last_sample = 0.0
        self.last_loss = None

    def model_started(self):
        return self.model is not None and self.model['step'] > 0


class Lock:
    """asyncio.Lock that counts the tasks waiting for it: training lets them in between two batches."""

    def __init__(self):
        self._lock = asyncio.Lock()
        self.waiting = 0

    async def __aenter__(self):
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1

    async def __aexit__(self, *exc):
        self._lock.release()


page = Page()
lock = Lock()
ready_event = asyncio.Event()


def may_discard(why):
    """Whether the trained model may be replaced: nothing trained yet, or the person agrees. The one question the
    page asks before a new model replaces trained steps: why, then "Discard the N steps trained so far?"."""
    return not page.model_started() or bool(window.confirm('%s Discard the %s trained so far?' % (
        why, plural(page.model['step'], 'step'))))


async def wait_ready():
    if not page.ready:
        await ready_event.wait()
