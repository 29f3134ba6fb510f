"""Engine speed, natively: prints figures (not a test).

    python benchmarks/engine.py [--data PATH] [--steps N]

For the default config and for n_embd 32, n_layer 2, on the same data: ms/step of the reference program
(run as it is, in a subprocess), of the package's original engine and of its efficient engine, with the
ratios; and the cyclic garbage collector's share of an original-engine step.
The data defaults to the built site's names preset (dist/data/names.txt); the README's figures use the
reference's own names.txt (--data). The reference program is timed when MICROGPT_REFERENCE names it.
"""
import argparse
import gc
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from microgpt import Config, Trainer, read_documents  # noqa: E402

CONFIGS = {'default': {}, 'n_embd 32, n_layer 2': {'n_embd': 32, 'n_layer': 2}}


def reference_path():
    env = os.environ.get('MICROGPT_REFERENCE')
    return Path(env) if env and Path(env).exists() else None


def reference_ms_per_step(ref, data, settings, steps):
    """Run the reference with num_steps (and the settings) patched, timing each printed step line."""
    source = ref.read_text()
    source = source.replace('num_steps = 1000', f'num_steps = {steps}')
    for name, value in settings.items():
        source, count = re.subn(rf'^{name} = \d+', f'{name} = {value}', source, flags=re.M)
        assert count == 1, name
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, 'input.txt').write_bytes(Path(data).read_bytes())
        Path(tmp, 'ref.py').write_text(source)
        proc = subprocess.Popen([sys.executable, '-u', 'ref.py'], cwd=tmp, stdout=subprocess.PIPE, text=True)
        times = []
        for line in proc.stdout:
            if line.startswith('step '):
                times.append(time.perf_counter())
            if len(times) == steps:
                proc.kill()
                break
        proc.wait()
    if len(times) < 2:  # it failed (at n_embd 64 with 4 layers its recursive backward overflows the stack)
        return float('nan')
    # from the end of step 1 to the end of the last step: no start-up, no initialisation
    return (times[-1] - times[0]) * 1000 / (len(times) - 1)


def engine_ms_per_step(docs, settings, engine, steps):
    trainer = Trainer(Config(num_steps=1000, **settings), docs, engine=engine)
    trainer.step()  # warm-up; then time the same steps as the reference
    start = time.perf_counter()
    for _ in range(steps - 1):
        trainer.step()
    return (time.perf_counter() - start) * 1000 / (steps - 1)


def gc_share(docs, steps):
    """The original engine's step with the cyclic GC running (as the gist runs) and paused (as Trainer runs it)."""
    trainer = Trainer(Config(num_steps=1000), docs)
    results = {}
    for label, enabled in (('gc on', True), ('gc paused', False)):
        start = time.perf_counter()
        for _ in range(steps):
            step = trainer.step_count
            tokens = trainer.tokenizer.encode(trainer.docs[step % len(trainer.docs)])
            gc.enable() if enabled else gc.disable()
            trainer.engine.train_step(tokens, step, trainer.learning_rate_at(step))
            trainer.step_count += 1
        gc.enable()
        results[label] = (time.perf_counter() - start) * 1000 / steps
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=str(ROOT / 'dist' / 'data' / 'names.txt'),
                        help="a word list (default: the built site's names preset)")
    parser.add_argument('--steps', type=int, default=50, help='steps timed for the reference and original engine')
    parser.add_argument('--efficient-steps', type=int, default=500)
    args = parser.parse_args()
    docs = read_documents(args.data)
    ref = reference_path()
    print(f'Python {sys.version.split()[0]}, data {args.data} ({len(docs)} documents)')
    print(f"{'config':<22} {'reference':>10} {'original':>10} {'efficient':>10} {'ref/orig':>9} {'orig/eff':>9}  (ms/step)")
    for label, settings in CONFIGS.items():
        steps = args.steps if not settings else max(5, args.steps // 5)
        r = reference_ms_per_step(ref, args.data, settings, steps) if ref else float('nan')
        o = engine_ms_per_step(docs, settings, 'original', steps)
        e = engine_ms_per_step(docs, settings, 'efficient', args.efficient_steps)
        print(f'{label:<22} {r:>10.2f} {o:>10.2f} {e:>10.2f} {r / o:>9.2f} {o / e:>9.1f}', flush=True)
    if ref is None:
        print('(reference not found: set MICROGPT_REFERENCE to microgpt_reference.py)')
    shares = gc_share(docs, args.steps)
    on, off = shares['gc on'], shares['gc paused']
    print(f'original engine, default config: {on:.2f} ms/step with the cyclic GC running, {off:.2f} ms/step '
          f'with it paused: the GC takes {100 * (on - off) / on:.0f}% of a step')


if __name__ == '__main__':
    main()
