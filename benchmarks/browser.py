"""Speed of the page in headless Chromium: prints figures (not a test).

    python benchmarks/browser.py [--steps N] [--repeats R] [--long-task-seconds S]

Prints: seconds from navigation to ready (Train enabled); for each engine, ms/step of the page's training
loop (R runs, the engines taking turns; the median and the range, and the speed-up of each pair of runs)
and of a bare Pyodide worker running the same engine in the same browser, and their ratio; the longest
main-thread task while the page trains for S seconds; the views' answer times (views_answer_times).
"""
import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tests'))

import build  # noqa: E402
from browser import launch  # noqa: E402

# A bare module worker: Pyodide and the microgpt files from dist/, nothing else; times `steps` steps.
BARE_WORKER = """
import { loadPyodide } from "../pyodide/pyodide.mjs";
onmessage = async ({ data }) => {
  try { postMessage(await run(data)); } catch (err) { postMessage({ error: String(err) }); }
};
async function run({ engine, steps }) {
  const pyodide = await loadPyodide({ indexURL: new URL("../pyodide/", import.meta.url).href });
  const files = await (await fetch("../py/files.json")).json();
  pyodide.FS.mkdirTree("/py/microgpt");
  for (const f of files) pyodide.FS.writeFile("/py/" + f, await (await fetch("../py/" + f)).text());
  pyodide.globals.set("docs_text", await (await fetch("../data/names.txt")).text());
  pyodide.globals.set("engine", engine);
  pyodide.runPython(`
import sys
sys.path.insert(0, "/py")
from microgpt import Config, Trainer, parse_documents
t = Trainer(Config(num_steps=${Math.max(1000, steps + 100)}), parse_documents(docs_text), engine=engine)
`);
  // Steps in batches of separate calls, as the page's worker runs them: the first calls warm up
  // (V8 optimises a WebAssembly function between calls, not inside a long-running one).
  const batch = engine === "original" ? 1 : 10;
  for (let i = 0; i < 5; i++) pyodide.runPython(`for _ in range(${batch}): t.step()`);
  const start = performance.now();
  for (let done = 0; done < steps; done += batch) pyodide.runPython(`for _ in range(${batch}): t.step()`);
  return (performance.now() - start) / (Math.ceil(steps / batch) * batch);
}
"""
BARE_PAGE = """<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>bare</title>
<script type="module">
window.runBare = (engine, steps) => new Promise((resolve) => {
  const w = new Worker("./bare_worker.mjs", { type: "module" });
  w.onmessage = (e) => { resolve(e.data); w.terminate(); };
  w.postMessage({ engine, steps });
});
</script>"""

LONG_TASKS = """
window.__longest = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
}).observe({ type: "longtask", buffered: true });
"""


def status_step(page):
    text = page.get_by_role('status').first.inner_text()
    match = re.search(r'step (\d+) / (\d+)', text)
    return int(match.group(1)) if match else 0


def wait_for_step(page, step, timeout=600):
    deadline = time.perf_counter() + timeout
    while status_step(page) < step:
        if time.perf_counter() > deadline:
            raise SystemExit(f'the page did not reach step {step}: ' + page.get_by_role('status').first.inner_text())
        time.sleep(0.02)


def page_ms_per_step(page, engine, steps):
    """Reset with `steps` steps on the given engine, press Train, time the steps between 10% and the end."""
    page.get_by_label('Engine').select_option(index=0 if engine == 'original' else 1)
    page.get_by_label('Steps', exact=True).fill(str(steps))
    page.get_by_role('button', name='Reset', exact=True).click()
    page.get_by_role('button', name='Train', exact=True).click()
    first = max(1, steps // 10)
    wait_for_step(page, first)
    s0, t0 = status_step(page), time.perf_counter()
    wait_for_step(page, steps)
    return (time.perf_counter() - t0) * 1000 / (steps - s0)


def view_times(page, view, text, repeats):
    """ms of `repeats` answers of one view (next_token or attention), each for another text: from the request
    to the drawing (the page's measure: the lock, the worker, the drawing) and in the worker alone."""
    box = '#next-bars' if view == 'next_token' else '#attention-maps'
    totals, workers = [], []
    for i in range(repeats):
        page.evaluate(f'document.querySelector("{box}").removeAttribute("data-ms")')
        word = text[: 1 + i % len(text)]
        if view == 'next_token':
            page.get_by_label('Prefix', exact=True).fill(word)
        else:
            page.get_by_label('Word', exact=True).fill(word)
            page.get_by_role('button', name='Show attention').click()
        page.wait_for_function(f'() => document.querySelector("{box}").hasAttribute("data-ms")', timeout=60_000)
        totals.append(float(page.get_attribute(box, 'data-ms')))
        workers.append(float(page.get_attribute(box, 'data-worker-ms')))
    return totals, workers


def views_answer_times(page, repeats=15):
    """The views' answer times at the default size (the page's default model, original engine): idle, and
    while the page trains (a view waits for the training batch under way, up to 100 ms). Returns printed lines."""
    page.get_by_label('Engine').select_option(index=0)
    page.get_by_label('Steps', exact=True).fill('100000')
    page.get_by_role('button', name='Reset', exact=True).click()
    page.get_by_role('button', name='Step', exact=True).click()
    wait_for_step(page, 1)
    lines = []
    for state in ('idle', 'training'):
        if state == 'training':
            page.get_by_role('button', name='Train', exact=True).click()
            wait_for_step(page, 5)
        for view, text in (('next_token', 'mariann'), ('attention', 'christopher')):
            totals, workers = view_times(page, view, text, repeats)
            lines.append(f'{view:<10} {state:<8} request to drawn: median {statistics.median(totals):6.1f} ms '
                         f'(max {max(totals):6.1f}); in the worker: median {statistics.median(workers):5.1f} ms '
                         f'(max {max(workers):5.1f})')
            print(lines[-1], flush=True)
        if state == 'training':
            page.get_by_role('button', name='Pause', exact=True).click()
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=200, help='steps for the original engine (efficient: 10x)')
    parser.add_argument('--repeats', type=int, default=3, help='page runs of each engine (runs vary by a few %%)')
    parser.add_argument('--long-task-seconds', type=float, default=20.0)
    parser.add_argument('--view-repeats', type=int, default=15, help="answers timed for each view's figure")
    args = parser.parse_args()
    dist = build.build()
    server, url = build.serve_in_background(dist)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context()
        page = context.new_page()
        page.on('dialog', lambda dialog: dialog.accept())  # "discard the trained model?": yes
        context.route('**/__bench/bare.html', lambda r: r.fulfill(body=BARE_PAGE, content_type='text/html'))
        context.route('**/__bench/bare_worker.mjs', lambda r: r.fulfill(body=BARE_WORKER, content_type='text/javascript'))
        page.add_init_script(LONG_TASKS)
        t0 = time.perf_counter()
        page.goto(url)
        page.get_by_role('button', name='Train', exact=True).wait_for(state='visible')
        page.wait_for_function("() => { const b = [...document.querySelectorAll('button')]"
                               ".find(b => b.textContent.trim() === 'Train'); return b && !b.disabled; }",
                               timeout=120_000)
        ready = time.perf_counter() - t0
        print(f'navigation to ready: {ready:.2f} s')
        runs = {'original': [], 'efficient': []}
        for _ in range(args.repeats):
            for engine, steps in (('original', args.steps), ('efficient', args.steps * 10)):
                runs[engine].append(page_ms_per_step(page, engine, steps))
                print(f'page, {engine}: {runs[engine][-1]:.2f} ms/step', flush=True)
        results = {engine: statistics.median(times) for engine, times in runs.items()}
        pairs = [o / e for o, e in zip(runs['original'], runs['efficient'])]
        # the bigger model: 1000 steps of n_embd 32, n_layer 2 on the efficient engine, from Train to done
        page.get_by_label('Embedding size').fill('32')
        page.get_by_label('Layers').fill('2')
        page.get_by_label('Steps', exact=True).fill('1000')
        page.get_by_role('button', name='Reset', exact=True).click()
        start = time.perf_counter()
        page.get_by_role('button', name='Train', exact=True).click()
        wait_for_step(page, 1000)
        big_seconds = time.perf_counter() - start
        print(f'page, efficient, n_embd 32, n_layer 2: 1000 steps in {big_seconds:.1f} s', flush=True)
        page.get_by_label('Embedding size').fill('16')
        page.get_by_label('Layers').fill('1')
        # longest main-thread task while training (efficient engine: the most messages per second)
        page.evaluate('window.__longest = 0')
        page.get_by_label('Steps', exact=True).fill('100000')
        page.get_by_role('button', name='Reset', exact=True).click()
        page.get_by_role('button', name='Train', exact=True).click()
        print(f'training {args.long_task_seconds:.0f} s for the longest main-thread task...', flush=True)
        time.sleep(args.long_task_seconds)
        page.get_by_role('button', name='Pause', exact=True).click()
        longest = page.evaluate('window.__longest')
        print(f'the views, {args.view_repeats} answers each (default model, original engine):', flush=True)
        view_lines = views_answer_times(page, args.view_repeats)
        page.close()  # the page's worker ends, so the bare worker has the CPU to itself
        bare_page = context.new_page()
        bare_page.goto(url + '__bench/bare.html')
        bare = {}
        for engine, steps in (('original', args.steps), ('efficient', args.steps * 10)):
            bare[engine] = bare_page.evaluate('([e, n]) => runBare(e, n)', [engine, steps])
            if isinstance(bare[engine], dict):
                raise SystemExit(f'the bare worker failed: {bare[engine]["error"]}')
            print(f'bare worker, {engine}: {bare[engine]:.2f} ms/step', flush=True)
        browser.close()
    server.shutdown()
    print(f"{'engine':<10} {'page ms/step (median, range)':>30} {'bare worker ms/step':>20} {'page/bare':>10}")
    for engine in ('original', 'efficient'):
        spread = f'{results[engine]:.2f} ({min(runs[engine]):.2f}-{max(runs[engine]):.2f})'
        print(f'{engine:<10} {spread:>30} {bare[engine]:>20.2f} {results[engine] / bare[engine]:>10.3f}')
    print(f"efficient speed-up in the page: {results['original'] / results['efficient']:.1f}x (medians); "
          f"each pair of runs: {', '.join(f'{r:.1f}x' for r in pairs)}")
    print(f'efficient, n_embd 32, n_layer 2, 1000 steps in the page: {big_seconds:.1f} s')
    longest_text = f'{longest:.0f} ms' if longest else 'none over 50 ms (the Long Tasks API reports only those)'
    print(f'longest main-thread task during {args.long_task_seconds:.0f} s of training: {longest_text}')
    print("the views' answer times (default model, original engine):")
    for line in view_lines:
        print('  ' + line)


if __name__ == '__main__':
    main()
