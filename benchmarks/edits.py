"""What three classroom edits do to the loss, natively: prints figures (not a test).

    python benchmarks/edits.py [--data PATH] [--steps N]

Trains the default config (the full run's learning-rate decay, num_steps = --steps) with the shipped code and
with each edit of the README's "try this" list, through microgpt/edits.py as the page's Train with my code
does, and prints each run's loss at step 1, its mean loss over the first and last 100 steps, and the change
against the original. The data defaults to the built site's names preset (dist/data/names.txt).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from microgpt import Config, Trainer, read_documents  # noqa: E402
from microgpt.edits import edited, original_sources  # noqa: E402

MODEL = 'microgpt/model.py'
EDITS = [  # (what a student does, file, old, new)
    ('squared ReLU in gpt()', MODEL, 'x = [xi.relu() for xi in x]', 'x = [xi.relu() ** 2 for xi in x]'),
    ('initial weights 10x larger (std 0.8)', MODEL, 'def matrix(rng, nout, nin, std=0.08):',
     'def matrix(rng, nout, nin, std=0.8):'),
    ('plain SGD instead of Adam', MODEL, '            data.append(p.data - lr_t * m_hat / (v_hat ** 0.5 + eps_adam))',
     '            data.append(p.data - lr_t * p.grad)'),
]


def sources_with(path, old, new):
    sources = original_sources()
    assert sources[path].count(old) == 1, f'{old!r} should occur once in {path}'
    sources[path] = sources[path].replace(old, new)
    return sources


def run(docs, steps, code):
    trainer = Trainer(Config(num_steps=steps), docs, code=code)
    start = time.perf_counter()
    losses = [trainer.step().loss for _ in range(steps)]
    return losses, (time.perf_counter() - start) * 1000 / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=str(ROOT / 'dist' / 'data' / 'names.txt'))
    parser.add_argument('--steps', type=int, default=500)
    args = parser.parse_args(argv)
    docs = read_documents(args.data)
    window = min(100, args.steps)
    print(f'{args.data}: {len(docs)} documents; default config, {args.steps} steps; mean loss of the first and '
          f'last {window} steps')
    base = None
    for name, path, old, new in [('original (shipped code)', None, None, None)] + EDITS:
        code = None if path is None else edited(sources_with(path, old, new))
        losses, ms = run(docs, args.steps, code)
        first, last = statistics.fmean(losses[:window]), statistics.fmean(losses[-window:])
        base = base or last
        change = '' if path is None else f'  ({last - base:+.3f} against the original)'
        print(f'{name:40s} step 1 {losses[0]:.3f}  first {first:.3f}  last {last:.3f}{change}  [{ms:.0f} ms/step]',
              flush=True)


if __name__ == '__main__':
    main()
