# The page's half of the worker protocol (MicroPython). worker.py's docstring has the table: one function here
# per row, and every call goes through call(), which never raises: a failure is an answer {'error': ...}.
import json

_worker = None


def connect(worker):
    global _worker
    _worker = worker


def ask(name, *args):
    """Start a worker function; await answer() for its result. Calls run in the worker in the order asked."""
    try:
        return name, getattr(_worker, name)(*args)
    except Exception as e:  # noqa: BLE001 - the page must survive anything
        return name, e


async def answer(asked):
    """The answer of an ask() as Python data; anything that goes wrong becomes {'error': ...}."""
    name, promise = asked
    try:
        if isinstance(promise, Exception):
            raise promise
        text = await promise
    except Exception as e:  # noqa: BLE001
        return {'error': 'the worker failed in %s: %s' % (name, e)}
    try:
        reply = json.loads(str(text))
    except Exception:  # noqa: BLE001 - e.g. a string the worker's memory garbled
        return {'error': 'the worker gave an unreadable answer to %s' % name}
    if not isinstance(reply, dict):
        return {'error': 'the worker gave an unexpected answer to %s' % name}
    return reply


async def call(name, *args):
    return await answer(ask(name, *args))


def init(base_url):
    return call('init', base_url)


def stage_url(url, source):
    return call('stage_url', url, source)


def stage_text(text, source):
    return call('stage_text', text, source)


def adopt():
    return call('adopt')


def describe(settings):
    return call('describe', json.dumps(settings))


def reset(settings, engine):
    return call('reset', json.dumps(settings), engine)


def ask_train(max_steps, budget_ms):
    """train() started, not awaited: the training loop asks for the next batch before showing the last."""
    return ask('train', max_steps, budget_ms)


def train(max_steps, budget_ms):
    return answer(ask_train(max_steps, budget_ms))


def set_num_steps(num_steps):
    return call('set_num_steps', num_steps)


def set_engine(engine):
    return call('set_engine', engine)


def sample(count, temperature_text):
    return call('sample', count, temperature_text)


def verify(steps):
    return call('verify', steps)


def log_csv():
    return call('log_csv')
