"""What Keep (issue 11) costs and gives, in headless Chromium: prints figures (not a test).

    python benchmarks/keep.py [--seconds S] [--repeats R] [--visits V]

1. Steps per second of the page's training loop at the default size (original engine, default settings) with
   autosave (every few seconds to IndexedDB) and without it (the same page with IndexedDB refused, so autosave
   stops after its first try), R runs of S seconds each, the two taking turns; medians and ranges.
2. Seconds from navigation to ready (Train enabled): a first visit (new browser profile, nothing cached), then
   V repeat visits once the service worker holds the offline copy; a repeat visit offline; and, to compare,
   V repeat visits with service workers blocked (the browser's HTTP cache only).
3. The worker's time for one autosave (export_state: state.dumps at the default size with a 1000-row log),
   under Pyodide in Node.js (tests/pyodide_node.mjs), as a share of the autosave interval: a figure free of
   the noise of the runs in 1 on a shared machine.
"""
import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tests'))

import build  # noqa: E402
from browser import launch  # noqa: E402

REFUSE_STORAGE = ("IDBFactory.prototype.open = function () "
                  "{ throw new DOMException('refused (benchmark)', 'SecurityError'); };")
OFFLINE_COPY = """async () => {
    const reg = await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller || !reg.active) return false;
    const keys = await caches.keys();
    return keys.length === 1 && (await (await caches.open(keys[0])).keys()).length > 50;
}"""
AUTOSAVE_MS = 5000  # web/keep.py
DUMPS = """import time
from microgpt import Config, Trainer, read_documents, format_log_row, state
t = Trainer(Config(), read_documents('names.txt'))
rows = [format_log_row(t.step()) for _ in range(20)] * 50
times = []
for _ in range(15):
    s = time.perf_counter(); text = state.dumps(t, log=rows[:t.step_count] * 50); times.append((time.perf_counter() - s) * 1000)
print(sorted(times)[7], len(text))
"""
STORED_STEP = "async () => { const m = await keepStore.meta(); return m ? JSON.parse(m).step : 0; }"


def status_step(page):
    match = re.search(r'step (\d+) / (\d+)', page.get_by_role('status').first.inner_text())
    return int(match.group(1)) if match else 0


def wait_ready(page, timeout=120):
    page.wait_for_function("() => { const b = [...document.querySelectorAll('button')]"
                           ".find(b => b.textContent.trim() === 'Train'); return b && !b.disabled; }",
                           timeout=timeout * 1000)


def visit(page, url):
    t0 = time.perf_counter()
    page.goto(url)
    wait_ready(page)
    return time.perf_counter() - t0


def steps_per_second(page, url, seconds):
    """A fresh page of 100,000 steps, trained for `seconds` after a warm-up of 10 steps."""
    visit(page, url)
    page.get_by_label('Steps', exact=True).fill('100000')
    page.get_by_label('Steps', exact=True).press('Tab')
    page.get_by_role('status').filter(has_text='step 0 / 100000').wait_for()
    page.get_by_role('button', name='Train', exact=True).click()
    while status_step(page) < 10:
        time.sleep(0.05)
    s0, t0 = status_step(page), time.perf_counter()
    time.sleep(seconds)
    s1, t1 = status_step(page), time.perf_counter()
    page.get_by_role('button', name='Pause', exact=True).click()
    stored = page.evaluate(STORED_STEP)
    return (s1 - s0) / (t1 - t0), stored


def repeat_visits(context, page, url, count, what):
    """Close the page and visit again, `count` times, in the same context; the seconds to ready of each."""
    times = []
    for _ in range(count):
        page.close()
        page = context.new_page()
        times.append(visit(page, url))
        print(f'{what}: ready in {times[-1]:.2f} s', flush=True)
    page.close()
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=30.0, help='training time of each run')
    parser.add_argument('--repeats', type=int, default=3, help='runs with and without autosave')
    parser.add_argument('--visits', type=int, default=3, help='repeat visits timed')
    args = parser.parse_args()
    dist = build.build()
    server = build.make_server(dist, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = 'http://127.0.0.1:%d/' % server.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(dist / 'data' / 'names.txt', tmp)
        (Path(tmp) / 'dumps.py').write_text(DUMPS)
        out = subprocess.run(['node', str(ROOT / 'tests' / 'pyodide_node.mjs'), str(dist), tmp, 'dumps.py'],
                             capture_output=True, text=True, check=True).stdout.split()
    dumps_ms, size = float(out[0]), int(out[1])
    print(f'one autosave in the worker: {dumps_ms:.1f} ms ({size / 1e3:.0f} kB), every {AUTOSAVE_MS / 1000:.0f} s '
          f'of training: {100 * dumps_ms / AUTOSAVE_MS:.2f}% of the worker\'s time', flush=True)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        # -- time to ready: first visit, repeat visits, offline
        context = browser.new_context()
        page = context.new_page()
        first = visit(page, url)
        print(f'first visit: ready in {first:.2f} s', flush=True)
        while not page.evaluate(OFFLINE_COPY):
            time.sleep(0.1)
        repeats = repeat_visits(context, page, url, args.visits, 'repeat visit')
        context.set_offline(True)
        page = context.new_page()
        offline = visit(page, url)
        print(f'repeat visit offline: ready in {offline:.2f} s', flush=True)
        context.close()
        context = browser.new_context(service_workers='block')
        page = context.new_page()
        visit(page, url)
        plain = repeat_visits(context, page, url, args.visits, 'repeat visit, service workers blocked')
        context.close()
        # -- autosave's cost
        rates = {'with autosave': [], 'without': []}
        for _ in range(args.repeats):
            for label, script in (('with autosave', None), ('without', REFUSE_STORAGE)):
                context = browser.new_context()
                if script:
                    context.add_init_script(script)
                page = context.new_page()
                rate, stored = steps_per_second(page, url, args.seconds)
                rates[label].append(rate)
                print(f'{label}: {rate:.2f} steps/s (stored step {stored})', flush=True)
                context.close()
        browser.close()
    server.shutdown()
    on, off = statistics.median(rates['with autosave']), statistics.median(rates['without'])
    print(f'first visit ready: {first:.2f} s; repeat visits: median {statistics.median(repeats):.2f} s '
          f'({min(repeats):.2f}-{max(repeats):.2f}); offline: {offline:.2f} s; '
          f'service workers blocked: median {statistics.median(plain):.2f} s')
    print(f'one autosave: {dumps_ms:.1f} ms of the worker every {AUTOSAVE_MS / 1000:.0f} s of training '
          f'({100 * dumps_ms / AUTOSAVE_MS:.2f}%)')
    print(f'steps/s at the default size, original engine: with autosave {on:.2f} '
          f'({min(rates["with autosave"]):.2f}-{max(rates["with autosave"]):.2f}), without {off:.2f} '
          f'({min(rates["without"]):.2f}-{max(rates["without"]):.2f}): with/without {100 * (on / off - 1):+.1f}% '
          '(runs on a shared machine vary by more than autosave costs: compare the ranges and the worker figure)')


if __name__ == '__main__':
    main()
