"""The page in each browser engine, in one run: prints figures (not a test).

    python benchmarks/browsers.py [--browser NAME ...] [--visits V] [--repeats R] [--steps ORIGINAL,EFFICIENT]

For each browser (Chromium, Firefox, WebKit: tests/drivers.py drives them as the tests do, from Debian's packages
or Playwright's own), in turn: its version; seconds from navigation to ready (Train enabled) for a first visit (a
new browser profile, nothing cached: Pyodide starts and makes its memory snapshot) and V repeat visits (reloads,
once the service worker holds the offline copy and the snapshot is kept); then ms/step of the page's training
loop on each engine at the default size (names preset), R runs each, the engines taking turns: Reset, Train, and
the page's own clock (a MutationObserver on the status line) from 10% of the steps to the last, so the first
steps (a JIT warming up) count only in the first 10%. A table of all browsers at the end. The machine varies:
compare the browsers within one run.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tests'))

import build  # noqa: E402
from drivers import BROWSERS, start  # noqa: E402
from test_browsers import OFFLINE_COPY, READY, SELECT, STATUS  # noqa: E402

WATCH = """(first, last) => { const s = document.querySelector('#status'), t = window.__steps = {};
  window.confirm = () => true;
  new MutationObserver(() => { const m = /step (\\d+) \\//.exec(s.innerText); if (!m) return; const n = +m[1];
    if (n >= first && !t.first) t.first = [n, performance.now()];
    if (n >= last && !t.last) t.last = [n, performance.now()];
  }).observe(s, {childList: true, subtree: true, characterData: true}); }"""
TIMED = "() => window.__steps.last ? (window.__steps.last[1] - window.__steps.first[1]) / " \
        "(window.__steps.last[0] - window.__steps.first[0]) : 0"


def ready_seconds(tab, go):
    t0 = time.perf_counter()
    go()
    tab.wait(READY, timeout=600, what='Train enabled')
    return time.perf_counter() - t0


def ms_per_step(tab, engine, steps):
    """Reset with `steps` steps on `engine`, Train, and the page's ms/step from 10% of the steps to the last."""
    tab.evaluate(SELECT, '#engine', engine)
    tab.fill('#num_steps', steps)
    tab.click('#reset')
    tab.wait(STATUS, f'step 0 / {steps}', timeout=120)
    tab.evaluate(WATCH, max(1, steps // 10), steps)
    tab.click('#train')
    return tab.wait(TIMED, timeout=1200, what=f'{steps} steps on {engine}')


def spread(values):
    return f'{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})' if len(values) > 1 \
        else f'{values[0]:.2f}'


def measure(name, url, args):
    tab = start(name)
    try:
        print(f'{name}: {tab.version}', flush=True)
        first = ready_seconds(tab, lambda: tab.goto(url))
        print(f'{name}: first visit ready in {first:.1f} s', flush=True)
        tab.wait(OFFLINE_COPY, timeout=300, what='the offline copy')
        repeats = [ready_seconds(tab, tab.reload) for _ in range(args.visits)]
        print(f'{name}: repeat visits ready in ' + ', '.join(f'{s:.2f}' for s in repeats) + ' s', flush=True)
        runs = {'original': [], 'efficient': []}
        for _ in range(args.repeats):
            for engine, steps in zip(runs, args.steps):
                runs[engine].append(ms_per_step(tab, engine, steps))
                print(f'{name}: {engine} {runs[engine][-1]:.2f} ms/step ({steps} steps)', flush=True)
        return {'version': tab.version, 'first': first, 'repeat': repeats, **runs}
    finally:
        tab.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--browser', action='append', choices=BROWSERS, help='repeatable (default: all three)')
    parser.add_argument('--visits', type=int, default=3, help='repeat visits (default 3)')
    parser.add_argument('--repeats', type=int, default=2, help='runs of each engine (default 2)')
    parser.add_argument('--steps', default='100,1000', help='steps a run, original,efficient (default 100,1000)')
    args = parser.parse_args()
    args.steps = [int(s) for s in args.steps.split(',')]
    dist = build.build()
    server, url = build.serve_in_background(dist)
    results = {}
    try:
        for name in args.browser or BROWSERS:
            try:
                results[name] = measure(name, url, args)
            except (AssertionError, RuntimeError) as e:  # a browser that fails leaves the others' figures
                print(f'{name}: {e}', flush=True)
                results[name] = {'version': name, 'error': str(e)[:120]}
    finally:
        server.shutdown()
    print(f'\n{"browser":<60} {"first visit s":>14} {"repeat visit s":>20} '
          f'{"original ms/step":>20} {"efficient ms/step":>20}')
    for r in results.values():
        if 'error' in r:
            print(f'{r["version"]:<60} {r["error"]}')
            continue
        print(f'{r["version"]:<60} {r["first"]:>14.1f} {spread(r["repeat"]):>20} '
              f'{spread(r["original"]):>20} {spread(r["efficient"]):>20}')


if __name__ == '__main__':
    main()
