# The page's half of the worker protocol (MicroPython). web/worker/protocol.py has the table: one function here
# per row, and every call goes through call(), which never raises: a failure is an answer {'error': ...}.
#
# Every call has a deadline scaled to the work it asks for (BASE_MS plus the model's step time, as the worker
# estimates and then measures it, times the steps of work). A call past its deadline, or an error event of the
# worker, means the worker is gone: every later call answers at once with `gone`'s message until restart().
# A call that runs edited code (the Code panel) has the user's step time limit instead: past it the code ran
# away, and the page stops the worker (code_panel.py starts a fresh one).
#
# Two workers: the PyScript worker (worker.py) runs the shipped code; a model of edited code runs in the sandboxed
# worker (sandbox.js), which has the same rows. connection.worker is the one the current model lives in; confine.py
# moves the page from one to the other when a new model needs the other's code.
import asyncio
import json

from pyscript import window, workers

BASE_MS = 15000  # any call: describing, staging a 10 MB dataset or building the largest model take far less


class Connection:
    def __init__(self):
        self.name = ''
        self.worker = None
        self.gone = ''  # why the worker is gone ('' while it answers)
        self.step_ms = 1000.0  # a step of the current model: the worker's estimate, then its measurement
        self.on_gone = None  # called once when the worker is found gone
        self.edited = False  # the current model runs edited code: its steps have the step time limit
        self.step_limit_ms = 10000  # the Code panel's "Step time limit (seconds)"
        self.sandbox = False  # connection.worker is the sandboxed worker (edited code)
        self.main = None  # (name, worker): the PyScript worker, while the page talks to the sandboxed one
        self.sandbox_name = ''  # the sandboxed worker's name, while one runs
        self.sandboxes = 0  # sandboxed workers started (their names)
        self.sandbox_watched = ''  # the one the page watches (for its end)

    def mark_gone(self, why):
        if not self.gone:
            self.gone = why
            if self.on_gone is not None:
                self.on_gone(why)


connection = Connection()


START_MS = 180000  # a worker not started by then never will (a first visit takes seconds, a loaded machine a minute)


async def connect(name):
    """Wait for the PyScript worker of this name and talk to it from now on; fails with why when it cannot start
    (its script could not be fetched, or no worker after START_MS)."""
    connection.worker = await window.trainerWorkers.ready(workers[name], name, START_MS)
    connection.name, connection.gone = name, ''
    window.trainerWorkers.watch(name, lambda *_: asyncio.create_task(check_alive(name)))


async def check_alive(name):
    """After an error event of the worker: an error thrown in its global scope leaves Python alive (nothing is
    lost), a crash does not; a call that answers at once (check_link of nothing) tells them apart, its deadline
    saying the worker is gone."""
    if connection.name == name and not connection.gone:
        await check_link([])


async def restart(number):
    """A fresh worker (the old one, if still running, is stopped, and so is a sandboxed one)."""
    if connection.sandbox:
        leave_sandbox()
    window.trainerWorkers.stop(connection.name)
    stop_sandbox()
    name = 'trainer-%d' % number
    window.trainerWorkers.start(name)
    await connect(name)


def prestart_sandbox():
    """Start the sandboxed worker in the background (the Code panel's Edit: edited code may come), unless one
    runs or is starting: its name."""
    sandbox = window.sandboxWorker
    if not (sandbox.running() or sandbox.starting()):
        connection.sandboxes += 1
        connection.sandbox_name = 'sandbox-%d' % connection.sandboxes
        sandbox.ensure(connection.sandbox_name)
    return connection.sandbox_name


async def enter_sandbox():
    """Talk to the sandboxed worker from now on (started when none runs): '' or why it could not start."""
    sandbox = window.sandboxWorker
    name = prestart_sandbox()
    try:
        await sandbox.ensure(name)
    except Exception as e:  # noqa: BLE001
        return 'the sandboxed worker for your code could not start (%s)' % e
    if connection.sandbox_watched != name:
        window.trainerWorkers.watchOther(name, sandbox, lambda why: sandbox_gone(name, str(why)))
        connection.sandbox_watched = name
    if not connection.sandbox:
        connection.main = (connection.name, connection.worker)
    connection.name, connection.worker, connection.sandbox = name, sandbox.rows, True
    return ''


def sandbox_gone(name, why):
    if connection.sandbox and connection.name == name:
        connection.mark_gone(why)


def leave_sandbox():
    """Talk to the PyScript worker again (the sandboxed one keeps running until stop_sandbox())."""
    if connection.sandbox:
        (connection.name, connection.worker), connection.sandbox = connection.main, False


def back_to_sandbox():
    """Talk to the running sandboxed worker again (a model of the shipped code failed to build)."""
    if not connection.sandbox:
        connection.main = (connection.name, connection.worker)
        connection.name, connection.worker = connection.sandbox_name, window.sandboxWorker.rows
        connection.sandbox = True


def stop_sandbox():
    if connection.sandbox_name and not connection.sandbox:
        window.sandboxWorker.stop('the page went back to the shipped code')
        connection.sandbox_name = ''


RAN_AWAY = 'your code ran past the step time limit'  # how a limited call's lateness is told (code_panel.py)


def ask(name, *args, work_ms=0, limit_steps=0):
    """Start a worker function; await answer() for its result. Calls run in the worker in the order asked.

    limit_steps: the call runs at most that many steps of edited code, each within the step time limit."""
    if connection.gone:
        return name, None, 0, ''
    deadline, late = BASE_MS + work_ms, ''
    if connection.edited:  # it may wait behind a step of edited code
        deadline += connection.step_limit_ms
    if limit_steps:
        deadline = work_ms + limit_steps * connection.step_limit_ms
        late = '%s (%s s a step)' % (RAN_AWAY, seconds(connection.step_limit_ms))
    try:
        promise = window.trainerWorkers.deadline(connection.name, getattr(connection.worker, name)(*args), deadline)
        return name, promise, deadline, late
    except Exception as e:  # noqa: BLE001 - the page must survive anything
        return name, e, deadline, late


def seconds(ms):
    return ('%.1f' % (ms / 1000)).rstrip('0').rstrip('.')


def stop(why):
    """End the worker now (the Code panel's Stop): calls under way answer with why, as a gone worker's do."""
    connection.mark_gone(why)
    window.trainerWorkers.kill(connection.name, why)


async def answer(asked, split=False):
    """The answer of an ask() as Python data; anything that goes wrong becomes {'error': ...}.

    split: an answer in two parts (export_state, import_state): its first line is the answer, and the text
    after it stays in JavaScript, as reply['parts'] for keep.js's keepStore."""
    name, promise, deadline, late = asked
    if connection.gone:
        return {'error': connection.gone, 'gone': True}
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
            connection.mark_gone(late or 'the Python worker stopped answering (%s gave no answer within %d s)' % (
                name, deadline // 1000))
        if connection.gone:
            return {'error': connection.gone, 'gone': True}
        return {'error': 'the worker failed in %s: %s' % (name, e)}
    try:
        reply = json.loads(str(text))
    except Exception:  # noqa: BLE001 - e.g. a string the worker's memory garbled
        return {'error': 'the worker gave an unreadable answer to %s' % name}
    if not isinstance(reply, dict):
        return {'error': 'the worker gave an unexpected answer to %s' % name}
    if 'step_ms' in reply:  # a MODEL answer
        connection.step_ms = reply['step_ms']
        connection.edited = bool(reply.get('code'))
    if parts is not None and 'error' not in reply:
        reply['parts'] = parts
    return reply


async def call(name, *args, work_ms=0, limit_steps=0):
    return await answer(ask(name, *args, work_ms=work_ms, limit_steps=limit_steps))


def init(base_url):
    return call('init', base_url)


def stage_url(url, source):
    return call('stage_url', url, source)


def adopt():
    return call('adopt')


def describe(settings, engine):
    return call('describe', json.dumps(settings), engine)


def reset(settings, engine):
    return call('reset', json.dumps(settings), engine)


def ask_train(max_steps, budget_ms):
    """train() started, not awaited: the training loop asks for the next batch before showing the last."""
    if connection.edited:
        return ask('train', max_steps, budget_ms, work_ms=budget_ms, limit_steps=1)
    return ask('train', max_steps, budget_ms, work_ms=budget_ms + 4 * connection.step_ms)


def train(max_steps, budget_ms):
    return answer(ask_train(max_steps, budget_ms))


def keep_settings(settings):
    return call('keep_settings', json.dumps(settings))


def set_engine(engine):
    return call('set_engine', engine)


def sample(count, temperature_text):
    return call('sample', count, temperature_text, work_ms=count * connection.step_ms,
                limit_steps=1 if connection.edited else 0)


def verify(steps):
    if connection.edited:  # the steps on the edited code and on the original
        return call('verify', steps, limit_steps=2 * steps)
    return call('verify', steps, work_ms=4 * steps * connection.step_ms)


def log_csv():
    return call('log_csv')


def check_link(settings):
    return call('check_link', json.dumps(settings))


def ask_export_state():
    """export_state() started, not awaited (an autosave while training); answer(..., split=True) it."""
    return ask('export_state', work_ms=4 * connection.step_ms)


def export_state():
    return answer(ask_export_state(), split=True)


def import_state(url, source, code_choice):
    return answer(ask('import_state', url, source, code_choice, work_ms=30000), split=True)  # the largest file


def next_token(prefix, temperature_text):
    return call('next_token', prefix, temperature_text, work_ms=2 * connection.step_ms)


def attention(word):
    return call('attention', word, work_ms=2 * connection.step_ms)


def step_through(prefix, position, temperature_text):
    return call('step_through', prefix, position, temperature_text, work_ms=4 * connection.step_ms,
                limit_steps=1 if connection.edited else 0)


def code_files():
    return call('code_files')


def code_check(sources_json):
    return call('code_check', sources_json)


def code_train(settings, sources_json):
    """A new model with the edited code and its first step: building it may take up to BASE_MS / 3, the step
    has the step time limit."""
    return call('code_train', json.dumps(settings), sources_json, work_ms=BASE_MS // 3, limit_steps=1)
