"""Start-up and training speed of the page in WebKit (Safari's engine) beside Chromium, in one run: prints figures.

    python benchmarks/webkit.py [--rounds R] [--seconds S] [--dist DIR]

Both are driven as the tests drive them (tests/drivers.py: WebKitGTK's MiniBrowser through WebKitWebDriver under
`xvfb-run`, Chromium through Playwright); benchmarks/browsers.py gives every browser's figures, this one WebKit's
start-up timeline and its warm-up. For each round and each
browser, taking turns, in a new profile: a first visit (seconds from navigation to Train enabled) of a link to the
efficient engine (n_embd 16, names), trained for S seconds: its steps per second over the seconds 10 to S after
Train; then a repeat visit (the snapshot and the offline copy kept); the page's "microgpt:" marks of both visits. The machine is
shared: compare the browsers within a run, not with another hour's figures.

JavaScriptCore's options set in the environment (e.g. JSC_useWasmIPInt=false JSC_useWasmLLInt=false) reach WebKit,
for diagnosis only (no user can set them).
"""
import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tests'))

import build  # noqa: E402
from drivers import start  # noqa: E402

READY = ("() => { const b = document.getElementById('train');"
         " return !!(b && !b.disabled && document.getElementById('status').textContent.indexOf('Loading') < 0); }")
MARKS = "() => performance.getEntriesByType('mark').filter(e => e.name.startsWith('microgpt:'))" \
        ".map(e => [e.name.slice(9), e.startTime])"
STEP = "() => { const m = /step (\\d+)/.exec(document.getElementById('status').textContent); return m ? +m[1] : 0; }"
TRAIN = "() => { document.getElementById('train').click(); return true; }"
LINK = '#engine=efficient&num_steps=100000'


def ready(b, url, timeout=900):
    """Seconds from navigation to ready, and the page's marks (ms)."""
    t0 = time.perf_counter()
    b.goto(url)
    while not b.evaluate(READY):
        if time.perf_counter() - t0 > timeout:
            raise SystemExit('not ready in %d s' % timeout)
        time.sleep(0.05)
    return time.perf_counter() - t0, b.evaluate(MARKS)


def steps_per_second(b, seconds):
    """Steps per second of the efficient engine (the page is ready) from 10 s after Train to `seconds` after it,
    and in the first 10 s."""
    b.evaluate(TRAIN)
    t0 = time.perf_counter()
    time.sleep(10)
    s0, t1 = b.evaluate(STEP), time.perf_counter()
    time.sleep(seconds - 10)
    s1, t2 = b.evaluate(STEP), time.perf_counter()
    return (s1 - s0) / (t2 - t1), s0 / (t1 - t0)


def one_browser(name, url, seconds):
    b = start(name)
    try:
        first, first_marks = ready(b, url + LINK)
        rate, early = steps_per_second(b, seconds)
        b.goto('about:blank')
        reload, reload_marks = ready(b, url)
    finally:
        b.close()
    marks = lambda ms: ', '.join(f'{n} {t / 1000:.1f}' for n, t in ms)  # noqa: E731
    print(f'{name}: first visit {first:.1f} s ({marks(first_marks)})', flush=True)
    print(f'{name}: repeat visit {reload:.1f} s ({marks(reload_marks)})', flush=True)
    print(f'{name}: efficient {rate:.1f} steps/s from 10 s to {seconds} s ({early:.1f} in the first 10 s)', flush=True)
    return {'first': first, 'reload': reload, 'rate': rate}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=1)
    parser.add_argument('--seconds', type=int, default=30)
    parser.add_argument('--dist', type=Path, default=build.DIST, help='a built site (default: dist/, built now)')
    args = parser.parse_args()
    if args.dist == build.DIST:
        subprocess.run([sys.executable, str(ROOT / 'build.py')], check=True, stdout=subprocess.DEVNULL)
    server, url = build.serve_in_background(args.dist)
    results = {'webkit': [], 'chromium': []}
    for _ in range(args.rounds):
        for name in results:
            results[name].append(one_browser(name, url, args.seconds))
    server.shutdown()
    print('\nmedians (WebKit / Chromium):')
    for key, what in (('first', 'first visit, s'), ('reload', 'repeat visit, s'), ('rate', 'efficient steps/s')):
        w, c = (statistics.median(r[key] for r in results[n]) for n in ('webkit', 'chromium'))
        print(f'  {what}: {w:.2f} / {c:.2f} = {w / c:.2f}x')


if __name__ == '__main__':
    main()
