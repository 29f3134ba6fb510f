"""What a model costs on each engine, and the limits a run is held to where it runs.

config.py bounds each setting (n_embd 128, 8 layers, block 128...). Beyond those, a model must fit where it
runs, and that depends on the engine and on the place:

- Natively (the CLI), nothing but the machine's memory: the original engine is refused only when a step
  would need more than most of the machine's physical memory (NATIVE_SHARE of it); the efficient engine
  (512 MiB at n_embd 128, 8 layers, block 94) only past that share too.
- In Pyodide (the page's worker, sys.platform 'emscripten'), the WebAssembly heap, kept under 1 GB (past
  2 GiB Pyodide hands corrupted strings to JavaScript), and the page's patience:
  * the original engine keeps one `Value` per number a step computes, all alive until the backward pass
    ends: at most MAX_STEP_VALUES of them (step_values(), at the dataset's own vocabulary),
    MAX_LAYER_PARAMS parameters in the layers (its model is one Value per weight), and a graph at most
    MAX_GRAPH_DEPTH deep (graph_depth(): freeing it must not overflow the browser's stack);
  * the efficient engine holds floats: weights, gradients, Adam's moments and their new values during the
    update, and the activations of a block; efficient_bytes() estimates its heap, at most MAX_HEAP, and
    efficient_step_seconds() a step's time, at most MAX_STEP_SECONDS.
Measured by benchmarks/memory.py (Pyodide's heap in Node.js, and the native peak).

check() raises a ConfigError naming the setting to change and the largest block size that fits (or, when
none does, a smaller model or the other engine); the Trainer calls it for every model it builds or loads.
"""
import os
import sys
from dataclasses import replace

from .data import MAX_CHARS
from .errors import ConfigError

MiB = 1024 * 1024
MAX_VOCAB = MAX_CHARS + 1  # the largest vocabulary a dataset may have: distinct characters, plus BOS

# -- the original engine in Pyodide: measured by benchmarks/memory.py ----------------------------------------
# A step on a document longer than the block, a fresh process, 0.9 to 13.4 million Values: Pyodide 314's heap
# grows by 160-201 bytes a Value over the built model (31-45 MiB), native CPython 3.11 by 256-289. At
# 4,200,000 the largest admitted models peak at 669-765 MiB of Pyodide heap for a step and 867 MiB for Verify
# (the model and a copy on each engine); n_embd 128 with block 25 took 1,858 MiB, 8 layers of 16 with block
# 128 2,265 MiB.
MAX_STEP_VALUES = 4_200_000
MAX_LAYER_PARAMS = 300_000  # parameters in wpe and the layers: the original engine's model, one Value each
# Freeing a step's graph frees each Value's children from inside its own deallocation: as deep in the C stack as
# the graph is deep, and in Chromium's worker Pyodide overflows the JavaScript stack ("Maximum call stack size
# exceeded") before CPython's own guard notices. graph_depth() estimates that depth; measured in Chromium 156 on
# the names preset (a step of the original engine, tests/test_limits.py): n_embd 40 with 4 layers (1,531) and
# 16 with 8 layers (1,371) train, n_embd 48 with 4 layers (1,803) and 64 with 4 layers (2,351) overflow.
MAX_GRAPH_DEPTH = 1_550

# -- the efficient engine in Pyodide -------------------------------------------------------------------------
MAX_HEAP = 900 * MiB  # efficient_bytes() at most: the worker under 1 GB
MAX_STEP_SECONDS = 30.0  # efficient_step_seconds() at most: a step on a full block
PYODIDE_FLOAT_BYTES = 24  # a float (16 bytes) and its slot in a list (4), rounded up
PYODIDE_BASE = 64 * MiB  # Pyodide, microgpt and the page's dataset before a model
PAGE_MULTIPLY_ADD_SECONDS = 60e-9  # measured: see efficient_step_seconds

# -- natively ------------------------------------------------------------------------------------------------
NATIVE_SHARE = 0.8  # of the machine's physical memory
NATIVE_VALUE_BYTES = 300  # a Value of a step, natively (256-289 measured), with the lists holding it
NATIVE_PARAM_BYTES = 200  # a weight of the original engine: its Value, Adam's two floats
NATIVE_FLOAT_BYTES = 32  # a float (24) and its slot in a list (8)


def layer_params(config):
    """Parameters in wpe and the transformer layers (the vocabulary adds wte and lm_head)."""
    return config.block_size * config.n_embd + config.n_layer * 12 * config.n_embd * config.n_embd


def params(config, vocab_size):
    return layer_params(config) + 2 * vocab_size * config.n_embd


def step_values(config, vocab_size):
    """How many `Value` nodes one training step of the original engine builds, for a document of at least
    block_size + 1 tokens (the longest step): exactly what model.py's gpt(), softmax and loss create.
    Per position: 24 n_embd^2 per layer (the q, k, v, o and MLP products: a multiply and an add each) and
    2 vocab x n_embd (lm_head), plus attention, which grows with the position: (4 n_embd + 9 n_head) per
    layer and per position attended to (the current one and those before)."""
    n, h, L, T, V = config.n_embd, config.n_head, config.n_layer, config.block_size, vocab_size
    per_position = 4 * n + 10 + L * (24 * n * n + 22 * n + 12 + h) + V * (2 * n + 7)
    return T * per_position + L * (4 * n + 9 * h) * T * (T + 1) // 2 + T + 3


def graph_depth(config, vocab_size):
    """The longest chain of Values in a step's graph, from the loss down: the sum over positions, softmax's
    sum over the vocabulary, lm_head's sum, then per layer two rmsnorm sums, a q projection, attention (a
    head's dot product, softmax and weighted sum over the positions), the output projection, fc1 and fc2
    (a sum of 4 n_embd): the sums are chains of additions."""
    n, L, T, V = config.n_embd, config.n_layer, config.block_size, vocab_size
    return L * (8 * n + 2 * T + n // config.n_head) + n + V + T


def efficient_floats(config, vocab_size):
    """Floats the efficient engine holds at the peak of a step on a full block: 7 per weight (the weights and
    their new values, the gradients, Adam's two moments and their new values) and the activations its
    backward pass keeps, per position about 20 n_embd a layer, 3 vocab and the attention weights."""
    n, h, L, T, V = config.n_embd, config.n_head, config.n_layer, config.block_size, vocab_size
    return 7 * params(config, vocab_size) + T * (L * 20 * n + 3 * V) + L * h * T * (T + 1) // 2


def efficient_bytes(config, vocab_size):
    """The efficient engine's Pyodide heap at the peak of a step (efficient_floats and the worker's base)."""
    return PYODIDE_BASE + efficient_floats(config, vocab_size) * PYODIDE_FLOAT_BYTES


def multiply_adds(config, vocab_size):
    """Multiply-adds of a step on a full block, forward and backward (each forward product once more for the
    input gradient and once for the weight gradient)."""
    n, L, T, V = config.n_embd, config.n_layer, config.block_size, vocab_size
    forward = T * (L * 12 * n * n + V * n) + L * 2 * n * T * (T + 1) // 2
    return 3 * forward


def efficient_step_seconds(config, vocab_size):
    """A bound on an efficient step's time in the page, on a full block with every ReLU unit on (training
    turns most of them off): PAGE_MULTIPLY_ADD_SECONDS a multiply-add, Adam included."""
    return multiply_adds(config, vocab_size) * PAGE_MULTIPLY_ADD_SECONDS + params(config, vocab_size) * 0.3e-6


def native_memory():
    """The machine's physical memory in bytes, or None where the platform does not say."""
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (AttributeError, ValueError, OSError):
        return None


def in_browser():
    """True in Pyodide (the page's worker; also Pyodide in Node.js, which has the same heap)."""
    return sys.platform == 'emscripten'


def check(config, engine, vocab_size, browser=None):
    """Raise ConfigError unless a model of this config and vocabulary fits on this engine where it runs (in
    the browser if `browser`, default: in_browser()), naming the largest block size that fits, or else the
    largest embedding size. Returns None."""
    browser = in_browser() if browser is None else browser
    problem = _problem(config, engine, vocab_size, browser)
    if problem is None:
        return
    what = problem[1]
    block = largest_block(config, engine, vocab_size, browser)
    other = ' or the efficient engine' if engine == 'original' else ''
    if block:
        field = 'block_size'
        advice = f'use block_size {block} or less{other}, or a smaller model'
    else:
        field = 'n_embd'
        embd = [n for n in range(config.n_embd - 1, config.n_head - 1, -1) if n % config.n_head == 0
                and _problem(replace(config, n_embd=n), engine, vocab_size, browser) is None]
        advice = (f'use n_embd {embd[0]} or less' if embd else 'use a smaller model') + other
    where = 'in the browser' if browser else 'on this machine'
    raise ConfigError(field, f'too large for the {engine} engine {where}: {what}; {advice}',
                      also=tuple(f for f in ('block_size', 'n_embd', 'n_layer') if f != field))


def fits(config, engine, vocab_size, browser=None, positions=None):
    """True when the model fits (check() would pass); with `positions`, when a step on a document of that many
    positions does (the model itself as it is)."""
    browser = in_browser() if browser is None else browser
    return _problem(config, engine, vocab_size, browser, positions) is None


def largest_block(config, engine, vocab_size, browser=None):
    """The longest step, in positions, that fits with this model (0: none), at most its block size."""
    browser = in_browser() if browser is None else browser
    return next((b for b in range(config.block_size, 0, -1)
                 if _problem(config, engine, vocab_size, browser, b) is None), 0)


def _problem(config, engine, vocab_size, browser, positions=None):
    """(the setting to name, what is too large), or None when it fits. positions: the step's length (a
    document shorter than the block), else a full block; the model is the config's either way."""
    step = config if positions is None else replace(config, block_size=positions)
    if engine == 'original':
        values = step_values(step, vocab_size)
        if browser:
            layers = layer_params(config)
            if layers > MAX_LAYER_PARAMS:
                return 'n_embd', (f'{layers:,} parameters in the layers, one autograd value each '
                                  f'(limit {MAX_LAYER_PARAMS:,})')
            if values > MAX_STEP_VALUES:
                return 'block_size', (f'a training step would build {values:,} autograd values at a '
                                      f'vocabulary of {vocab_size} (limit {MAX_STEP_VALUES:,}, under 1 GB)')
            depth = graph_depth(step, vocab_size)
            if depth > MAX_GRAPH_DEPTH:
                return 'n_embd', (f"a training step's graph would be {depth:,} autograd values deep (limit "
                                  f"{MAX_GRAPH_DEPTH:,}: freeing a deeper one overflows the browser's stack)")
            return None
        need = values * NATIVE_VALUE_BYTES + params(config, vocab_size) * NATIVE_PARAM_BYTES
        return _over_memory(need, f'a training step would build {values:,} autograd values, about')
    if browser:
        heap = efficient_bytes(step, vocab_size)
        if heap > MAX_HEAP:
            return 'block_size', f'a step needs about {heap / MiB:,.0f} MiB (limit {MAX_HEAP / MiB:,.0f} MiB)'
        seconds = efficient_step_seconds(step, vocab_size)
        if seconds > MAX_STEP_SECONDS:
            return 'block_size', (f'a step on a full block could take {seconds:,.0f} s '
                                  f'(limit {MAX_STEP_SECONDS:,.0f} s)')
        return None
    return _over_memory(efficient_floats(step, vocab_size) * NATIVE_FLOAT_BYTES, 'a step needs about')


def _over_memory(need, what):
    """Natively: ('block_size', why) when a step needs more than NATIVE_SHARE of the machine's memory, else None."""
    memory = native_memory()
    if memory is not None and need > memory * NATIVE_SHARE:
        return 'block_size', f'{what} {need / 2**30:.1f} GiB, and the machine has {memory / 2**30:.1f} GiB'
    return None
