# The page's main thread (MicroPython): reads the controls, drives the training worker, updates the page.
#
# The worker (worker.py, Pyodide) owns the dataset, the model and the log; every call to it returns JSON.
# Training is pull-based: while training, this side asks for ~100 ms of steps at a time, and Pause simply
# stops asking. The next batch is asked for before this side shows the last one, so the worker never waits
# for the page. Calls that change the model run one at a time under `lock`; a model number (`gen`) in every
# answer lets the page ignore answers about a model that has since been replaced.
import asyncio
import json

import js
from pyscript import document, window, workers, when

TRAIN_BUDGET_MS = 100  # how long one train() call may run in the worker
SAMPLE_EVERY_MS = 4000  # refresh the samples this often while training
SAMPLES = 8
VERIFY_STEPS = 3
MAX_UPLOAD = 10 * 1024 * 1024

# (config field, label) in the order of the form; the input's id is the field name
FIELDS = [('n_embd', 'Embedding size'), ('n_head', 'Heads'), ('n_layer', 'Layers'), ('block_size', 'Block size'),
          ('num_steps', 'Steps'), ('learning_rate', 'Learning rate'), ('seed', 'Seed'),
          ('temperature', 'Temperature'), ('beta1', 'Beta 1'), ('beta2', 'Beta 2')]
LABELS = dict(FIELDS)


def on(event_type, selector):
    """Register an async handler for a DOM event, run as an asyncio task.

    (MicroPython's asyncio.Lock only hands over between asyncio tasks: a coroutine that a JS event runs
    directly can hang the page while it waits for the lock.)"""
    def decorator(handler):
        def start_task(event):
            asyncio.create_task(handler(event))
        when(event_type, selector)(start_task)
        return handler
    return decorator


def el(id_):
    return document.getElementById(id_)


def now():
    return js.performance.now()


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


class State:
    worker = None
    ready = False
    base = ''  # the page's folder URL, for the worker's fetches
    presets = []
    model = None  # the worker's description of the current model (gen, step, num_steps, config, engine...)
    dataset = None  # the worker's description of the current dataset
    dataset_choice = ''  # the Dataset select's value for the current dataset
    errors = {}  # field -> message, for settings that are invalid now
    errors_model_only = False  # ...for the current model only (Steps below the steps it has trained)
    running = False  # the user wants training to continue
    loop_alive = False
    elapsed = 0.0  # seconds spent training this model
    marks = []  # (time ms, step) of recent answers, for steps per second
    last_sample = 0.0
    last_loss = None
    alert_kind = ''


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


S = State()
lock = Lock()
ready_event = asyncio.Event()


# -- showing things --------------------------------------------------------------------------------------
def show_alert(message, kind='error'):
    el('alert').textContent = message
    S.alert_kind = kind


def clear_alert(kind=None):
    if kind is None or S.alert_kind == kind:
        el('alert').textContent = ''
        S.alert_kind = ''


def set_text(id_, text):
    el(id_).textContent = text


def update_buttons():
    ready, m = S.ready, S.model
    valid = not S.errors
    can_step = ready and m is not None and valid and not S.running and not m['done']
    el('train').disabled = not can_step
    el('step').disabled = not can_step
    el('pause').disabled = not S.running
    el('reset').disabled = not (ready and (valid or S.errors_model_only))  # a new model may take them
    for id_ in ('generate', 'download', 'verify', 'use-paste'):
        el(id_).disabled = not ready or (m is None and id_ != 'use-paste')


def update_status():
    m = S.model
    if m is None:
        set_text('status', 'No model: fix the settings marked in red.' if S.ready else 'Loading Python…')
        return
    step, total = m['step'], m['num_steps']
    if S.running and not m['done']:
        state = 'training'
    elif S.loop_alive and not m['done']:
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
    set_text('stat-loss', '–' if S.last_loss is None else '%.4f' % S.last_loss)
    set_text('stat-elapsed', clock(S.elapsed))
    rate = steps_per_second()
    if rate is None and not S.running and S.elapsed > 0.5 and step:
        rate = step / S.elapsed  # paused or done: the average so far
    if rate is None:
        set_text('stat-rate', '–')
        set_text('stat-eta', '–' if not m['done'] else '0:00')
    else:
        set_text('stat-rate', ('%.1f' % rate) if rate < 100 else thousands(rate))
        set_text('stat-eta', clock((total - step) / rate) if rate > 0 else '–')


def steps_per_second():
    if len(S.marks) < 2:
        return None
    (t0, s0), (t1, s1) = S.marks[0], S.marks[-1]
    if t1 - t0 < 200:
        return None
    return (s1 - s0) * 1000 / (t1 - t0)


def show_samples(samples, temperature, step):
    ol = el('samples')
    ol.textContent = ''
    for text in samples:
        li = document.createElement('li')
        li.textContent = text if text else '(empty)'
        if not text:
            li.className = 'empty'
        ol.appendChild(li)
    set_text('samples-note', 'After %s, at temperature %s:' % (plural(step, 'step'), temperature))


def show_dataset(info):
    S.dataset = info
    set_text('data-summary', '%s · %s · vocabulary %d (%s + BOS)' % (
        info['source'], plural(info['documents'], 'document'), info['vocab_size'],
        plural(info['vocab_size'] - 1, 'character')))
    box = el('data-examples')
    box.textContent = ''
    for doc in info['examples']:
        span = document.createElement('span')
        span.className = 'chip'
        span.textContent = doc
        box.appendChild(span)


def mentions(text, name):
    i = text.find(name)
    while i >= 0:
        before = text[i - 1] if i else ' '
        after = text[i + len(name)] if i + len(name) < len(text) else ' '
        if not (before.isalpha() or before == '_') and not (after.isalpha() or after == '_'):
            return True
        i = text.find(name, i + 1)
    return False


def show_description(d):
    """Parameter count and truncation note from describe(); field errors when the settings are invalid."""
    for name, _ in FIELDS:
        set_text('err-' + name, '')
        el(name).removeAttribute('aria-invalid')
    S.errors = {}
    S.errors_model_only = bool(d.get('model_only'))
    if 'error' in d:
        field = d.get('field') or 'n_embd'
        if field not in LABELS:
            field = 'n_embd'
        S.errors[field] = d['error']
        set_text('err-' + field, d['error'])
        for name, _ in FIELDS:  # the setting named, and any other the rule mentions (n_head in n_embd's)
            if name == field or mentions(d.get('rule') or '', name):
                el(name).setAttribute('aria-invalid', 'true')
        show_alert(LABELS[field] + ': ' + (d.get('rule') or d['error']) + reset_hint(d), 'settings')
        set_text('params', '–')
    else:
        clear_alert('settings')
        set_text('params', thousands(d['num_params']))
        n = d['truncated']
        if n:
            set_text('data-truncated', '%s longer than the block size (%d) allows: training sees only their first '
                                       '%d characters, not their end, as in the original.' % (
                                           plural(n, 'document is') if n == 1 else thousands(n) + ' documents are',
                                           d['block_size'], d['block_size']))
        else:
            set_text('data-truncated', 'Every document fits in the block size (%d).' % d['block_size'])
    update_buttons()


def reset_hint(d):
    return '. Reset starts a new model with these settings.' if d.get('model_only') else ''


def field_error(field, d):
    S.errors[field] = d['error']
    S.errors_model_only = bool(d.get('model_only'))
    set_text('err-' + field, d['error'])
    el(field).setAttribute('aria-invalid', 'true')
    show_alert(LABELS[field] + ': ' + (d.get('rule') or d['error']) + reset_hint(d), 'settings')
    update_buttons()


# -- talking to the worker -------------------------------------------------------------------------------
def ask(name, *args):
    """Start a worker function; await answer() for its result. Calls run in the worker in the order asked."""
    try:
        return name, getattr(S.worker, name)(*args)
    except Exception as e:  # noqa: BLE001 - the page must survive anything
        return name, e


async def answer(asked):
    """The JSON answer of an ask() as Python data (a worker exception becomes {'error': ...})."""
    name, promise = asked
    try:
        if isinstance(promise, Exception):
            raise promise
        text = await promise
    except Exception as e:  # noqa: BLE001 - the page must survive anything
        return {'error': 'the worker failed in %s: %s' % (name, e)}
    return json.loads(text)


async def call(name, *args):
    """Await a worker function; its JSON answer as Python data (a worker exception becomes {'error': ...})."""
    return await answer(ask(name, *args))


def read_settings():
    return {name: el(name).value for name, _ in FIELDS}


async def describe():
    d = await call('describe', json.dumps(read_settings()))
    show_description(d)
    return d


def new_model(info):
    S.model = info
    S.elapsed = 0.0
    S.marks = []
    S.last_loss = None
    S.last_sample = -1e9  # the first steps show samples at once
    window.lossChart.reset(info['num_steps'])
    el('samples').textContent = ''
    set_text('samples-note', 'A new model: press Train or Generate to see what it invents.')
    set_text('verify-result', '')
    el('engine').value = info['engine']
    update_status()
    update_buttons()


async def reset_model_locked():
    """A fresh model from the settings on the page (the caller holds the lock). False when they are invalid."""
    S.running = False
    d = await describe()
    if 'error' in d and not d.get('model_only'):
        return False
    info = await call('reset', json.dumps(read_settings()), el('engine').value)
    if 'error' in info:
        show_alert(info['error'])
        return False
    new_model(info)
    if 'error' in d:
        await describe()  # the error was about the old model
    return True


def model_started():
    return S.model is not None and S.model['step'] > 0


async def apply_settings_locked():
    """Make the model agree with the settings on the page, asking before a trained model is discarded.

    Returns True when the model now matches the settings."""
    d = await describe()
    if 'error' in d:
        return False
    if S.model is None:
        return await reset_model_locked()
    current = S.model['config']
    wanted = d['config']
    changed = d['changed']
    if changed:
        names = ', '.join(LABELS[f] for f in changed)
        if model_started() and not window.confirm(
                'Changing %s needs a new model. Discard the %s trained so far?' % (
                    names, plural(S.model['step'], 'step'))):
            for f in changed:  # keep the model: put its settings back
                el(f).value = str(current[f])
            await describe()
            return False
        return await reset_model_locked()
    if wanted['num_steps'] != current['num_steps']:
        info = await call('set_num_steps', wanted['num_steps'])
        if 'error' in info:
            field_error('num_steps', info)
            return False
        S.model = info
        S.marks = []
        window.lossChart.setTotal(info['num_steps'])
        update_status()
    S.model['config']['temperature'] = wanted['temperature']
    update_buttons()
    return True


# -- training --------------------------------------------------------------------------------------------
def take_steps(r, t_start):
    """Show the answer of a train() call (steps, losses) if it is about the current model."""
    if S.model is None or r.get('gen') != S.model['gen']:
        return
    losses = r['losses']
    if losses:
        window.lossChart.append(r['step'] - len(losses) + 1, json.dumps(losses))
        S.last_loss = losses[-1]
    S.model.update({k: r[k] for k in ('step', 'num_steps', 'done')})
    t = now()
    S.marks.append((t, r['step']))
    while len(S.marks) > 2 and t - S.marks[0][0] > 5000:
        S.marks.pop(0)
    update_status()


async def refresh_samples_locked():
    t = el('temperature').value
    r = await call('sample', SAMPLES, t)
    if 'error' in r:
        if r.get('field') == 'temperature':
            field_error('temperature', r)
        else:
            show_alert(r['error'])
        return
    if S.model is not None and r['gen'] == S.model['gen']:
        show_samples(r['samples'], r['temperature'], r['step'])  # the worker's step: a batch may be under way
    S.last_sample = now()


def keep_training():
    return S.running and S.model is not None and not S.model['done']


async def training_loop():
    S.loop_alive = True
    try:
        while keep_training():
            async with lock:
                # Batches back to back: the next is asked for before this side shows the last. The lock is
                # held while a batch is under way, and let go between batches when another task waits.
                tick = now()
                pending = ask('train', 1000000, TRAIN_BUDGET_MS) if keep_training() else None
                while pending is not None:
                    r = await answer(pending)
                    pending = None
                    if 'error' in r:
                        show_alert(r['error'])
                        S.running = False
                        break
                    if S.running and not r['done'] and lock.waiting == 0:
                        pending = ask('train', 1000000, TRAIN_BUDGET_MS)
                    t = now()
                    S.elapsed += (t - tick) / 1000
                    tick = t
                    take_steps(r, t)
                    if S.model['done'] or t - S.last_sample > SAMPLE_EVERY_MS:
                        await refresh_samples_locked()
    finally:
        S.running = False
        S.loop_alive = False
        S.marks = []
        update_status()
        update_buttons()


async def wait_ready():
    if not S.ready:
        await ready_event.wait()


@on('click', '#train')
async def on_train(event):
    await wait_ready()
    if S.running:
        return
    async with lock:
        clear_alert()
        if not await apply_settings_locked():
            return
        if S.model['done']:
            show_alert('Training is complete (%s). Raise Steps to train further, or Reset.' % plural(
                S.model['step'], 'step'), 'info')
            return
        S.running = True
        S.marks = [(now(), S.model['step'])]
        update_status()
        update_buttons()
    if not S.loop_alive:
        asyncio.create_task(training_loop())


@on('click', '#pause')
async def on_pause(event):
    S.running = False
    update_status()
    update_buttons()


@on('click', '#step')
async def on_step(event):
    await wait_ready()
    if S.running:
        return
    async with lock:
        clear_alert()
        if not await apply_settings_locked() or S.model['done']:
            return
        t = now()
        r = await call('train', 1, 0)
        if 'error' in r:
            show_alert(r['error'])
            return
        S.elapsed += (now() - t) / 1000
        S.marks = []
        take_steps(r, now())
        if S.model['done'] or now() - S.last_sample > SAMPLE_EVERY_MS:
            await refresh_samples_locked()


@on('click', '#reset')
async def on_reset(event):
    await wait_ready()
    S.running = False
    async with lock:
        clear_alert()
        await reset_model_locked()


@on('click', '#generate')
async def on_generate(event):
    await wait_ready()
    async with lock:
        if S.model is not None:
            await refresh_samples_locked()


@on('click', '#download')
async def on_download(event):
    await wait_ready()
    async with lock:
        text = await S.worker.log_csv()
    window.saveText('microgpt-log.csv', text, 'text/csv')


@on('click', '#verify')
async def on_verify(event):
    await wait_ready()
    set_text('verify-result', 'Running %d steps on both engines…' % VERIFY_STEPS)
    async with lock:
        if S.model is None:
            return
        r = await call('verify', VERIFY_STEPS)
    if 'error' in r:
        set_text('verify-result', '')
        show_alert('Verify: ' + r['error'])
        return
    where = 'from step %d' % r['from_step']
    if r['identical']:
        set_text('verify-result', 'Identical: %d steps %s gave the same losses and the same %s parameters on both '
                                  'engines, bit for bit.' % (r['steps'], where, thousands(r['num_params'])))
        el('verify-result').className = 'verify-result ok'
    else:
        what = []
        if not r['same_losses']:
            what.append('losses')
        if not r['same_params']:
            what.append('parameters')
        set_text('verify-result', 'Different: the engines disagree on %s after %d steps %s.' % (
            ' and '.join(what), r['steps'], where))
        el('verify-result').className = 'verify-result bad'


# -- settings --------------------------------------------------------------------------------------------
async def on_setting_input(event):
    if S.ready:
        await describe()


async def on_setting_change(event):
    await wait_ready()
    async with lock:
        await apply_settings_locked()


for _name, _ in FIELDS:
    on('input', '#' + _name)(on_setting_input)
    on('change', '#' + _name)(on_setting_change)


@on('change', '#engine')
async def on_engine(event):
    await wait_ready()
    async with lock:
        if S.model is None:
            return
        engine = el('engine').value
        if engine == S.model['engine']:
            return
        info = await call('set_engine', engine)
        if 'error' in info:
            el('engine').value = S.model['engine']
            show_alert(info['error'])
            return
        S.model.update(info)
        S.marks = [(now(), S.model['step'])] if S.running else []
        clear_alert()
        update_status()


# -- datasets --------------------------------------------------------------------------------------------
def restore_dataset_choice():
    el('dataset').value = S.dataset_choice


def set_custom_option(label):
    select = el('dataset')
    option = el('dataset-custom')
    if option is None:
        option = document.createElement('option')
        option.id = 'dataset-custom'
        option.value = 'custom'
        select.appendChild(option)
    option.textContent = label


async def adopt_staged_locked(info, choice, custom_label=None):
    """The worker has parsed a dataset (info): use it for a new model, asking first if one is trained."""
    if S.errors and S.model is not None:
        show_alert('Fix the settings marked in red first: the new dataset needs a new model.')
        restore_dataset_choice()
        return False
    if model_started() and not window.confirm(
            'Train on %s (%s)? This starts a new model and discards the %s trained so far.' % (
                info['source'], plural(info['documents'], 'document'), plural(S.model['step'], 'step'))):
        restore_dataset_choice()
        return False
    S.running = False
    show_dataset(await call('adopt'))
    if custom_label is not None:
        set_custom_option(custom_label)
    S.dataset_choice = choice
    el('dataset').value = choice
    clear_alert()
    await reset_model_locked()
    return True


async def load_preset_locked(preset_id):
    for p in S.presets:
        if p['id'] == preset_id:
            info = await call('stage_url', S.base + p['file'], p['label'])
            if 'error' in info:
                show_alert(info['error'])
                restore_dataset_choice()
                return False
            return await adopt_staged_locked(info, preset_id)
    restore_dataset_choice()
    return False


async def load_file_locked(file):
    name = str(file.name)
    if file.size > MAX_UPLOAD:  # refused before reading a byte
        show_alert('%s is %.1f MB; the limit is 10 MB. The current dataset is kept.' % (name, file.size / 1e6))
        return False
    url = js.URL.createObjectURL(file)
    try:
        info = await call('stage_url', url, name)
    finally:
        js.URL.revokeObjectURL(url)
    if 'error' in info:
        show_alert(info['error'] + '. The current dataset is kept.')
        return False
    return await adopt_staged_locked(info, 'custom', 'Your file: ' + name)


@on('change', '#dataset')
async def on_dataset(event):
    await wait_ready()
    choice = el('dataset').value
    if choice == 'custom' or choice == S.dataset_choice:
        restore_dataset_choice()
        return
    async with lock:
        await load_preset_locked(choice)


@on('change', '#upload')
async def on_upload(event):
    await wait_ready()
    async with lock:
        files = el('upload').files
        if files.length:
            await load_file_locked(files.item(0))
        el('upload').value = ''


@on('click', '#use-paste')
async def on_paste(event):
    await wait_ready()
    async with lock:
        text = el('paste').value
        info = await call('stage_text', text, 'pasted text')
        if 'error' in info:
            show_alert(info['error'] + '. The current dataset is kept.')
            return
        await adopt_staged_locked(info, 'custom', 'Pasted text')


# -- start -----------------------------------------------------------------------------------------------
async def start():
    async with lock:
        try:
            S.worker = await workers['trainer']
            base = str(document.baseURI).split('#')[0].split('?')[0]
            S.base = base[:base.rfind('/') + 1]
            info = await call('init', S.base)
        except Exception as e:  # noqa: BLE001
            info = {'error': str(e)}
        if 'error' in info:
            set_text('status', 'Python could not start.')
            show_alert('Python could not start: ' + info['error'])
            return
        S.presets = info['presets']
        select = el('dataset')
        select.textContent = ''
        for p in S.presets:
            option = document.createElement('option')
            option.value = p['id']
            option.textContent = p['label']
            select.appendChild(option)
        # the preset first, then a file chosen while Python was loading (if any) replaces it
        S.dataset_choice = S.presets[0]['id']
        await load_preset_locked(S.presets[0]['id'])
        files = el('upload').files
        if files.length:
            await load_file_locked(files.item(0))
            el('upload').value = ''
        S.ready = True
        ready_event.set()
        if S.model is None:
            await reset_model_locked()
        update_status()
        update_buttons()


asyncio.create_task(start())
