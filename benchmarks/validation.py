"""What validation costs, natively: prints figures (not a test).

    python benchmarks/validation.py [--data PATH] [--steps N]

With `validation` on (the default model otherwise), for each engine: ms per training step, ms per validation
loss (trainer.validation_loss(): VALIDATION_SAMPLE held-out documents, forward only), that cost in steps, and
what evaluating every VALIDATION_EVERY steps adds to training time. Also the views' computations (the next-token
probabilities after a 5-character prefix, the attention maps of a 6-letter word) in ms.
The data defaults to the built site's names preset (dist/data/names.txt).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from microgpt import Config, Trainer, read_documents  # noqa: E402
from microgpt.trainer import VALIDATION_EVERY, VALIDATION_SAMPLE  # noqa: E402


def ms(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=str(ROOT / 'dist' / 'data' / 'names.txt'))
    parser.add_argument('--steps', type=int, default=30, help='steps timed (original engine; efficient: 10x)')
    args = parser.parse_args()
    docs = read_documents(args.data)
    print(f'{len(docs)} documents; validation loss over {VALIDATION_SAMPLE} held-out documents '
          f'every {VALIDATION_EVERY} steps')
    for engine, steps in (('original', args.steps), ('efficient', args.steps * 10)):
        t = Trainer(Config(validation=True, num_steps=100000), docs, engine=engine)
        t.train(5)  # warm up
        start = time.perf_counter()
        t.train(steps)
        step_ms = (time.perf_counter() - start) * 1000 / steps
        val_ms = ms(t.validation_loss, 5)
        probs_ms = ms(lambda: t.next_token_probs('emma'), 20)
        attention_ms = ms(lambda: t.attention_maps('olivia'), 20)
        print(f'{engine:<9} step {step_ms:7.2f} ms | validation loss {val_ms:7.1f} ms = {val_ms / step_ms:5.1f} steps, '
              f'+{100 * val_ms / (VALIDATION_EVERY * step_ms):4.1f}% of training | next-token probabilities '
              f'{probs_ms:5.2f} ms | attention maps {attention_ms:5.2f} ms')


if __name__ == '__main__':
    main()
