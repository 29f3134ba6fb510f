"""Watch gpt() run: one forward pass of the real function, line by line (sys.monitoring, or sys.settrace).

Nothing here changes what gpt() computes: the tracer only reads the local variables of gpt()'s own frame after
each of its lines (the functions it calls, rmsnorm, linear, softmax, and comprehensions, run untraced, so a
line that builds a list is one step, not one per element). The Step through view records every line with the
variables it changed; the Attention view picks attn_weights out of the same tracing.
"""
import math
import sys
from contextlib import contextmanager

MAX_NUMBERS = 200_000  # numbers a trace records in all; past it a variable is named with its size, its values left out
MAX_STEPS = 5_000  # lines a trace records; the rest of the pass still runs, unrecorded


def watching(code, on_line):
    """While inside, on_line(lineno, frame) is called before each line of the function whose code object is
    `code`, and on_line(None, frame) as it returns; other functions run untraced. Python 3.12 and later watch
    that function alone (sys.monitoring); before, sys.settrace sees every call and traces only that one."""
    return _monitored(code, on_line) if hasattr(sys, 'monitoring') else _traced(code, on_line)


@contextmanager
def _traced(code, on_line):
    def local(frame, event, arg):
        if event == 'line':
            on_line(frame.f_lineno, frame)
        elif event == 'return':
            on_line(None, frame)
        return local

    def calls(frame, event, arg):
        return local if frame.f_code is code else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        yield
    finally:
        sys.settrace(previous)


@contextmanager
def _monitored(code, on_line):
    monitoring = sys.monitoring
    events = monitoring.events
    tool = _free_tool(monitoring)
    monitoring.register_callback(tool, events.LINE, lambda c, line: on_line(line, sys._getframe(1)))
    monitoring.register_callback(tool, events.PY_RETURN, lambda c, offset, value: on_line(None, sys._getframe(1)))
    monitoring.set_local_events(tool, code, events.LINE | events.PY_RETURN)
    try:
        yield
    finally:
        monitoring.set_local_events(tool, code, 0)
        monitoring.register_callback(tool, events.LINE, None)
        monitoring.register_callback(tool, events.PY_RETURN, None)
        monitoring.free_tool_id(tool)


def _free_tool(monitoring):
    """A sys.monitoring tool id no debugger or profiler holds (they take 0 to 2 and 5)."""
    for tool in (3, 4, 0, 1, 2, 5):
        if monitoring.get_tool(tool) is None:
            monitoring.use_tool_id(tool, 'microgpt')
            return tool
    raise RuntimeError('every sys.monitoring tool id is in use')


def number(x):
    """A float as JSON can carry it: inf and nan become strings."""
    x = float(x)
    return x if math.isfinite(x) else repr(x)


def is_value(x):
    """An autograd Value (the shipped one or an edited copy): anything with a numeric .data and a .grad."""
    return hasattr(x, 'data') and hasattr(x, 'grad') and isinstance(x.data, (int, float))


def scalar(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) or is_value(x)


def data_of(x):
    return number(x.data if is_value(x) else x)


def shape_of(x):
    """The nested lengths of a list of lists of numbers ([] for a number), or None for anything else."""
    if scalar(x):
        return []
    if isinstance(x, list):
        if not x:
            return [0]
        inner = shape_of(x[0])
        if inner is not None and all(shape_of(item) == inner for item in x[1:4]):  # ragged rows: a grid of the first's width
            return [len(x)] + inner
        if inner is not None and all(isinstance(item, list) for item in x):
            return [len(x)] + inner
    return None


def numbers_in(shape):
    total = 1
    for n in shape:
        total *= n
    return total


def nested(x):
    """A list of lists of numbers as plain floats (a Value by its data)."""
    return [nested(item) for item in x] if isinstance(x, list) else data_of(x)


def grads(x):
    return [grads(item) for item in x] if isinstance(x, list) else number(x.grad)


def has_grad(x):
    if isinstance(x, list):
        return any(has_grad(item) for item in x)
    return is_value(x) and x.grad != 0


def shown(name, x, budget):
    """What the view shows of a variable: {name, kind, shape, data (, grad)}; budget: [numbers left]."""
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return {'name': name, 'kind': 'text', 'text': repr(x)}
    shape = shape_of(x)
    if shape is None:
        text = repr(x) if not isinstance(x, dict) else f'{{{len(x)} entries}}'
        return {'name': name, 'kind': 'text', 'text': text if len(text) <= 80 else text[:79] + '…'}
    kind = ('number', 'vector', 'grid')[min(len(shape), 2)] if len(shape) < 3 else 'grids'
    item = {'name': name, 'kind': kind, 'shape': shape, 'value': x.__class__.__name__ if is_value(x) else None}
    size = numbers_in(shape)
    if size > budget[0]:
        item['omitted'] = size
        return item
    budget[0] -= size
    item['data'] = nested(x)
    if has_grad(x):
        item['grad'] = grads(x)
    return item


def signature(x):
    """Cheap evidence that a variable changed between two lines: the object, and for a list its length and its
    last item's (keys[li].append, x_attn.extend). Values do not change during a forward pass."""
    if isinstance(x, list):
        return (id(x), len(x), signature(x[-1]) if x else None)
    if isinstance(x, (int, float, str, bool)) or x is None:
        return (type(x), x)
    return (id(x),)


class Recorder:
    """Collects the steps of one call of a function: each line run, and the locals it changed."""

    def __init__(self, skip=()):
        self.steps = []  # [{'line': lineno, 'changed': [shown variable]}]
        self.skip = set(skip)  # locals never shown (the parameters' dictionary of weights, say)
        self.seen = {}
        self.line = None  # the line now running
        self.budget = [MAX_NUMBERS]
        self.left_out = 0  # steps not recorded (past MAX_STEPS)
        self.result = None

    def __call__(self, lineno, frame):
        if lineno is not None and lineno == self.line:
            return  # the same line again (Python 3.12+ runs comprehensions inline: one step, not one per element)
        if self.line is None:  # the call: its arguments, at the def line
            self.line = frame.f_code.co_firstlineno
        self._finish(frame)
        self.line = lineno

    def _finish(self, frame):
        changed = []
        for name, x in frame.f_locals.items():
            if name in self.skip:
                continue
            sig, before = signature(x), self.seen.get(name)
            if before is None or before[0] is not x or before[1] != sig:
                self.seen[name] = (x, sig)  # x kept alive: no new object can take its id
                changed.append(name)
        if len(self.steps) >= MAX_STEPS:
            self.left_out += 1
            return
        local = frame.f_locals
        self.steps.append({'line': self.line, 'changed': [shown(n, local[n], self.budget) for n in changed]})


def starts_block(lines, step):
    """Whether a recorded step (its line of the file, 1-based) begins a block a learner would jump to: a loop's
    next turn (not its last check, which changes nothing), or the first line after a comment line
    ("# 1) Multi-head attention block")."""
    lineno = step['line']
    text = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ''
    before = lines[lineno - 2].strip() if 1 < lineno <= len(lines) + 1 else ''
    return (text.startswith('for ') and bool(step['changed'])) or before.startswith('#')


def trace_call(function, args, skip=()):
    """Run function(*args) with its lines recorded: (result, Recorder)."""
    recorder = Recorder(skip)
    with watching(function.__code__, recorder):
        recorder.result = function(*args)
    return recorder.result, recorder


def collect(function, names, call):
    """Run call() while function's frame is watched; every time a local in `names` is bound to a new object,
    its value is appended to found[name]. Returns (call's result, found)."""
    found = {name: [] for name in names}
    last = {}

    def on_line(lineno, frame):
        for name in names:
            x = frame.f_locals.get(name)
            if x is not None and last.get(name) is not x:
                last[name] = x
                found[name].append(x)

    with watching(function.__code__, on_line):
        result = call()
    return result, found
