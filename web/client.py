# The page's half of the worker protocol (MicroPython). worker.py's docstring has the table: one function here
# per row, and every call goes through call(), which never raises: a failure is an answer {'error': ...}.
#
# Every call has a deadline scaled to the work it asks for (BASE_MS plus the model's step time, as the worker
# estimates and then measures it, times the steps of work). A call past its deadline, or an error event of the
# worker, means the worker is gone: every later call answers at once with `dead`'s message until restart().
import json

from pyscript import window, workers

BASE_MS = 15000  # any call: describing, staging a 10 MB dataset or building the largest model take far less


class Connection:
    def __init__(self):
        self.name = ''
        self.worker = None
        self.dead = ''  # why the worker is gone ('' while it answers)
        self.step_ms = 1000.0  # a step of the current model: the worker's estimate, then its measurement
        self.on_dead = None  # called once when the worker is found gone

    def lost(self, why):
        if not self.dead:
            self.dead = why
            if self.on_dead is not None:
                self.on_dead(why)


C = Connection()


async def connect(name):
    """Wait for the PyScript worker of this name and talk to it from now on."""
    C.worker = await workers[name]
    C.name, C.dead = name, ''
    window.trainerWorkers.watch(name, lambda *_: C.lost('the Python worker crashed (out of memory?)'))


async def restart(number):
    """A fresh worker (the old one, if still running, is stopped)."""
    window.trainerWorkers.stop(C.name)
    name = 'trainer-%d' % number
    window.trainerWorkers.start(name)
    await connect(name)


def ask(name, *args, work_ms=0):
    """Start a worker function; await answer() for its result. Calls run in the worker in the order asked."""
    if C.dead:
        return name, None, 0
    deadline = BASE_MS + work_ms
    try:
        return name, window.trainerWorkers.deadline(C.name, getattr(C.worker, name)(*args), deadline), deadline
    except Exception as e:  # noqa: BLE001 - the page must survive anything
        return name, e, deadline


async def answer(asked, split=False):
    """The answer of an ask() as Python data; anything that goes wrong becomes {'error': ...}.

    split: an answer in two parts (export_state, import_state): its first line is the answer, and the text
    after it stays in JavaScript, as reply['parts'] for keep.js's keepStore."""
    name, promise, deadline = asked
    if C.dead:
        return {'error': C.dead, 'dead': True}
    parts = None
    try:
        if isinstance(promise, Exception):
            raise promise
        if split:
            parts = await window.keepStore.split(promise)
            text = parts.head
        else:
            text = await promise
    except Exception as e:  # noqa: BLE001
        if 'no answer' in str(e):
            C.lost('the Python worker stopped answering (%s gave no answer within %d s)' % (name, deadline // 1000))
        if C.dead:
            return {'error': C.dead, 'dead': True}
        return {'error': 'the worker failed in %s: %s' % (name, e)}
    try:
        reply = json.loads(str(text))
    except Exception:  # noqa: BLE001 - e.g. a string the worker's memory garbled
        return {'error': 'the worker gave an unreadable answer to %s' % name}
    if not isinstance(reply, dict):
        return {'error': 'the worker gave an unexpected answer to %s' % name}
    if 'step_ms' in reply:
        C.step_ms = reply['step_ms']
    if parts is not None and 'error' not in reply:
        reply['parts'] = parts
    return reply


async def call(name, *args, work_ms=0):
    return await answer(ask(name, *args, work_ms=work_ms))


def init(base_url):
    return call('init', base_url)


def stage_url(url, source):
    return call('stage_url', url, source)


def adopt():
    return call('adopt')


def describe(settings):
    return call('describe', json.dumps(settings))


def reset(settings, engine):
    return call('reset', json.dumps(settings), engine)


def ask_train(max_steps, budget_ms):
    """train() started, not awaited: the training loop asks for the next batch before showing the last."""
    return ask('train', max_steps, budget_ms, work_ms=budget_ms + 4 * C.step_ms)


def train(max_steps, budget_ms):
    return answer(ask_train(max_steps, budget_ms))


def set_num_steps(num_steps):
    return call('set_num_steps', num_steps)


def set_engine(engine):
    return call('set_engine', engine)


def sample(count, temperature_text):
    return call('sample', count, temperature_text, work_ms=count * C.step_ms)


def verify(steps):
    return call('verify', steps, work_ms=4 * steps * C.step_ms)


def log_csv():
    return call('log_csv')


def check_link(settings):
    return call('check_link', json.dumps(settings))


def ask_export_state():
    """export_state() started, not awaited (an autosave while training); answer(..., split=True) it."""
    return ask('export_state', work_ms=4 * C.step_ms)


def export_state():
    return answer(ask_export_state(), split=True)


def import_state(url, source):
    return answer(ask('import_state', url, source, work_ms=30000), split=True)  # up to the largest model's file


def next_token(prefix, temperature_text):
    return call('next_token', prefix, temperature_text, work_ms=2 * C.step_ms)


def attention(word):
    return call('attention', word, work_ms=2 * C.step_ms)
