"""Speed of the page in headless Chromium: prints figures (not a test).

    python benchmarks/browser.py [--only SECTION ...] [--steps N] [--repeats R] [--long-task-seconds S]
                                 [--visits V] [--autosave-seconds S] [--config n_embd=64,n_layer=4]

Sections (all of them unless --only names some), each printing its figures as it goes and a summary at the end:
  engines   for each engine, ms/step of the page's training loop (R runs, the engines taking turns; the median
            and the range, and the speed-up of each pair of runs) and of a bare Pyodide worker running the same
            engine in the same browser, and their ratio; 1000 steps of the bigger model; the longest
            main-thread task while the page trains for S seconds; the views' answer times (views_answer_times).
  ready     seconds from navigation to ready (Train enabled): a first visit (a new browser profile, nothing
            cached), V repeat visits once the service worker holds the offline copy, a repeat visit offline,
            V repeat visits with service workers blocked (the HTTP cache only), and V first and repeat visits of
            the same site without the Pyodide snapshot (web/worker/start_pyodide.mjs replaced by Pyodide's own
            loader), the two sites taking turns; then the timeline of a repeat visit (navigation, the page's
            and the worker's "microgpt:" performance marks, the fetches that end a phase).
  config    the settings of --config (any settings, e.g. n_embd=64,n_layer=4; default: the default size) on
            the names preset: ms/step of the page on the efficient engine (R runs of N steps, from a link with
            those settings), of the efficient engine natively and of the reference program (when
            MICROGPT_REFERENCE or ../shared/reference/microgpt_reference.py names it), taking turns, in one run
            (benchmarks/engine.py's timings).
  autosave  steps per second at the default size (original engine) with autosave (every few seconds to
            IndexedDB) and without it (the same page with IndexedDB refused, so autosave stops after its first
            try), R runs of S seconds each, taking turns; and the worker's time for one autosave (export_state:
            state.dumps at the default size with a 1000-row log) under Pyodide in Node.js, as a share of the
            autosave interval: a figure free of the noise of page runs on a shared machine.
  stepper   Step through gpt() at the default size (original engine, after 20 steps): a position's whole trace
            from the request to drawn, and in the worker, for R x 8 positions of a word; then moving between
            steps (Next over every step of a trace: stepper.go and the layout it causes, in the page).
  sandbox   seconds from pressing "Train with my code" to its first step (the message beside the editor), R
            times on a repeat visit: the first time, pressed at once after Edit (the sandboxed worker, which Edit
            starts in the background, is still starting: web/js/sandbox.js) and, in another page, 10 s after Edit
            (as after typing an edit); a second time (it runs already: what the press cost before edited code
            moved there); after Reset (back on the shipped code, which stops it: it starts again); and the
            sandboxed worker's own start-up, from its performance marks.
"""
import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
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


def wait_ready(page, timeout=120):
    page.wait_for_function("() => { const b = [...document.querySelectorAll('button')]"
                           ".find(b => b.textContent.trim() === 'Train'); return b && !b.disabled; }",
                           timeout=timeout * 1000)


def visit(page, url):
    """Seconds from navigation to ready (Train enabled)."""
    t0 = time.perf_counter()
    page.goto(url)
    wait_ready(page)
    return time.perf_counter() - t0


def spread(values, unit=''):
    """'median (min-max)'."""
    return f'{statistics.median(values):.2f}{unit} ({min(values):.2f}-{max(values):.2f})'


# -- engines: ms/step of the page and of a bare worker ------------------------------------------------------
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


def engines_section(browser, url, args, dist):
    context = browser.new_context()
    page = context.new_page()
    page.on('dialog', lambda dialog: dialog.accept())  # "discard the trained model?": yes
    context.route('**/__bench/bare.html', lambda r: r.fulfill(body=BARE_PAGE, content_type='text/html'))
    context.route('**/__bench/bare_worker.mjs', lambda r: r.fulfill(body=BARE_WORKER, content_type='text/javascript'))
    page.add_init_script(LONG_TASKS)
    ready = visit(page, url)
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
    context.close()
    lines = [f"{'engine':<10} {'page ms/step (median, range)':>30} {'bare worker ms/step':>20} {'page/bare':>10}"]
    for engine in ('original', 'efficient'):
        lines.append(f'{engine:<10} {spread(runs[engine]):>30} {bare[engine]:>20.2f} '
                     f'{results[engine] / bare[engine]:>10.3f}')
    lines.append(f"efficient speed-up in the page: {results['original'] / results['efficient']:.1f}x (medians); "
                 f"each pair of runs: {', '.join(f'{r:.1f}x' for r in pairs)}")
    lines.append(f'efficient, n_embd 32, n_layer 2, 1000 steps in the page: {big_seconds:.1f} s')
    longest_text = f'{longest:.0f} ms' if longest else 'none over 50 ms (the Long Tasks API reports only those)'
    lines.append(f'longest main-thread task during {args.long_task_seconds:.0f} s of training: {longest_text}')
    lines.append("the views' answer times (default model, original engine):")
    lines += ['  ' + line for line in view_lines]
    return lines


# -- ready: first visit, repeat visits, offline, and the start-up's timeline --------------------------------
OFFLINE_COPY = """async () => {
    const reg = await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller || !reg.active) return false;
    const keys = (await caches.keys()).filter((key) => /^microgpt-[0-9a-f]{16}$/.test(key));
    return keys.length === 1 && (await (await caches.open(keys[0])).keys()).length > 50;
}"""
# PyScript's events on the page, as marks (the worker's and the page's own marks are "microgpt:...")
PYSCRIPT_EVENTS = """for (const name of ["mpy:ready", "mpy:done"]) {
  document.addEventListener(name, () => performance.mark("pyscript:" + name), { once: true });
}"""
# Pyodide's own loader in place of web/worker/start_pyodide.mjs: the site as it would be without the snapshot
NO_SNAPSHOT = '''import { loadPyodide as load, version } from "./pyodide/pyodide.mjs";
export { version };
export const loadPyodide = (options) => load({ ...options, indexURL: new URL("./pyodide/", import.meta.url).href });
'''


def wait_offline_copy(page):
    while not page.evaluate(OFFLINE_COPY):
        time.sleep(0.1)


def repeat_visit(context, page, url):
    """Close the page and visit again in the same context: (seconds to ready, the new page)."""
    page.close()
    page = context.new_page()
    page.add_init_script(PYSCRIPT_EVENTS)
    return visit(page, url), page


def timeline(page, url):
    """(ms since navigation, where, what) of a visit: navigation, marks of the page and of its workers, and
    the last fetch of each group (Pyodide's files, microgpt's, PyScript's...) with when it ended."""
    rows = []
    nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
    rows += [(nav['responseEnd'], 'page', 'the page fetched'), (nav['domInteractive'], 'page', 'the page parsed'),
             (nav['domContentLoadedEventEnd'], 'page', 'DOMContentLoaded')]
    origin = page.evaluate('performance.timeOrigin')
    marks = "performance.getEntriesByType('mark').map(e => [e.startTime, e.name, e.detail])"
    fetches = "performance.getEntriesByType('resource').map(e => [e.startTime, e.responseEnd, e.name])"
    scopes = [('page', page, 0.0)]
    for worker in page.workers:
        offset = worker.evaluate('performance.timeOrigin') - origin
        rows.append((offset, 'worker', 'the worker starts'))
        scopes.append(('worker', worker, offset))
    for where, scope, offset in scopes:
        for start, name, detail in scope.evaluate(marks):
            rows.append((start + offset, where, name + (f' ({detail})' if detail else '')))
        groups = {}
        for start, end, name in scope.evaluate(fetches):
            path = name.replace(url, '')
            group = path.rsplit('/', 1)[0] + '/*' if '/' in path else path
            first, last, count = groups.get(group, (start, end, 0))
            groups[group] = (min(first, start), max(last, end), count + 1)
        for group, (first, last, count) in groups.items():
            rows.append((last + offset, where, f'fetched {group} ({count} file{"s" * (count > 1)}, '
                                               f'from {first + offset:.0f} ms)'))
    return sorted(rows)


def no_snapshot_site(dist, tmp):
    """A copy of dist/ whose worker starts Pyodide with Pyodide's own loader (no snapshot)."""
    site = Path(tmp) / 'no-snapshot'
    shutil.copytree(dist, site)
    (site / 'start_pyodide.mjs').write_text(NO_SNAPSHOT)
    build.write_service_worker(site, snapshot_loader=False)
    return site


def ready_section(browser, url, args, dist):
    with tempfile.TemporaryDirectory() as tmp:
        server, plain_url = build.serve_in_background(no_snapshot_site(dist, tmp))
        contexts = {'snapshot': browser.new_context(), 'no snapshot': browser.new_context()}
        urls = {'snapshot': url, 'no snapshot': plain_url}
        pages, first, repeats = {}, {}, {'snapshot': [], 'no snapshot': []}
        for site, context in contexts.items():
            pages[site] = context.new_page()
            first[site] = visit(pages[site], urls[site])
            print(f'first visit ({site}): ready in {first[site]:.2f} s', flush=True)
            wait_offline_copy(pages[site])
        for _ in range(args.visits):
            for site, context in contexts.items():
                seconds, pages[site] = repeat_visit(context, pages[site], urls[site])
                repeats[site].append(seconds)
                print(f'repeat visit ({site}): ready in {seconds:.2f} s', flush=True)
        steps = timeline(pages['snapshot'], url)
        contexts['snapshot'].set_offline(True)
        offline, _ = repeat_visit(contexts['snapshot'], pages['snapshot'], url)
        print(f'repeat visit offline: ready in {offline:.2f} s', flush=True)
        for context in contexts.values():
            context.close()
        server.shutdown()
    context = browser.new_context(service_workers='block')
    page = context.new_page()
    visit(page, url)
    plain = []
    for _ in range(args.visits):
        seconds, page = repeat_visit(context, page, url)
        plain.append(seconds)
        print(f'repeat visit, service workers blocked: ready in {seconds:.2f} s', flush=True)
    context.close()
    lines = ['timeline of the last repeat visit (ms since navigation):']
    lines += [f'{t:8.0f}  {where:<6}  {what}' for t, where, what in steps]
    lines.append(f'first visit ready: {first["snapshot"]:.2f} s; repeat visits: median '
                 f'{spread(repeats["snapshot"], " s")}; offline: {offline:.2f} s; service workers blocked: median '
                 f'{spread(plain, " s")}')
    lines.append(f'without the Pyodide snapshot (the same runs, taking turns): first visit {first["no snapshot"]:.2f} s; '
                 f'repeat visits: median {spread(repeats["no snapshot"], " s")}')
    return lines


# -- autosave: what it costs ---------------------------------------------------------------------------------
REFUSE_STORAGE = ("IDBFactory.prototype.open = function () "
                  "{ throw new DOMException('refused (benchmark)', 'SecurityError'); };")
AUTOSAVE_MS = 5000  # web/page/keep.py
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


def autosave_in_node(dist):
    """(ms of one export's state.dumps under Pyodide in Node.js, its size in bytes)."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(dist / 'data' / 'names.txt', tmp)
        (Path(tmp) / 'dumps.py').write_text(DUMPS)
        out = subprocess.run(['node', str(ROOT / 'tests' / 'pyodide_node.mjs'), str(dist), tmp, 'dumps.py'],
                             capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def autosave_section(browser, url, args, dist):
    dumps_ms, size = autosave_in_node(dist)
    share = f'{100 * dumps_ms / AUTOSAVE_MS:.2f}%'
    print(f'one autosave in the worker: {dumps_ms:.1f} ms ({size / 1e3:.0f} kB), every {AUTOSAVE_MS / 1000:.0f} s '
          f"of training: {share} of the worker's time", flush=True)
    rates = {'with autosave': [], 'without': []}
    for _ in range(args.repeats):
        for label, script in (('with autosave', None), ('without', REFUSE_STORAGE)):
            context = browser.new_context()
            if script:
                context.add_init_script(script)
            page = context.new_page()
            rate, stored = steps_per_second(page, url, args.autosave_seconds)
            rates[label].append(rate)
            print(f'{label}: {rate:.2f} steps/s (stored step {stored})', flush=True)
            context.close()
    on, off = statistics.median(rates['with autosave']), statistics.median(rates['without'])
    return [f'one autosave: {dumps_ms:.1f} ms of the worker every {AUTOSAVE_MS / 1000:.0f} s of training ({share})',
            f'steps/s at the default size, original engine: with autosave {spread(rates["with autosave"])}, '
            f'without {spread(rates["without"])}: with/without {100 * (on / off - 1):+.1f}% '
            '(runs on a shared machine vary by more than autosave costs: compare the ranges and the worker figure)']


def stepper_section(browser, url, args, dist):
    page = browser.new_page()
    visit(page, url)
    page.get_by_label('Steps', exact=True).fill('1000')
    page.get_by_role('button', name='Reset', exact=True).click()
    for _ in range(20):
        page.get_by_role('button', name='Step', exact=True).click()
    wait_for_step(page, 20)
    page.wait_for_function('() => window.codeEditor && codeEditor.ready()', timeout=60_000)
    word, totals, workers, moves = 'marianne', [], [], []
    for _ in range(args.repeats):
        for position in range(1, len(word) + 1):
            page.evaluate('document.querySelector("#stepper-vars").removeAttribute("data-ms")')
            page.locator('#stepper-prefix').fill(word)
            page.locator('#stepper-position').fill(str(position))
            page.get_by_role('button', name='Step through', exact=True).click()
            page.wait_for_function('() => document.querySelector("#stepper-vars").hasAttribute("data-ms")',
                                   timeout=60_000)
            totals.append(float(page.get_attribute('#stepper-vars', 'data-ms')))
            workers.append(float(page.get_attribute('#stepper-vars', 'data-worker-ms')))
            moves += page.evaluate("""() => {
                const n = stepper.trace().steps.length, out = [];
                for (let i = 0; i < n; i++) {
                    const t0 = performance.now(); stepper.go(i); document.body.offsetHeight;
                    out.push(performance.now() - t0);
                }
                return out; }""")
    page.close()
    lines = [f'a trace (one position of "{word}", 20 steps trained): request to drawn median '
             f'{statistics.median(totals):.0f} ms (max {max(totals):.0f}), in the worker median '
             f'{statistics.median(workers):.0f} ms (max {max(workers):.0f}), {len(totals)} traces',
             f'moving to a step: median {statistics.median(moves):.1f} ms, max {max(moves):.1f} ms '
             f'({len(moves)} moves)']
    print('\n'.join(lines), flush=True)
    return lines


def parse_config(text):
    """--config 'n_embd=64,n_layer=4' -> {'n_embd': 64, 'n_layer': 4}, checked by the settings' description."""
    from microgpt.config import SETTINGS
    by_name = {s.name: s for s in SETTINGS}
    settings = {}
    for part in filter(None, (text or '').split(',')):
        name, _, value = part.partition('=')
        if name.strip() not in by_name:
            raise SystemExit(f'--config: {name.strip()!r} is not a setting ({", ".join(by_name)})')
        settings[name.strip()] = by_name[name.strip()].parse(value)
    return settings


def config_section(browser, url, args, dist):
    """The page (efficient engine), the efficient engine natively and the reference, at --config's settings."""
    import importlib.util
    from urllib.parse import urlencode
    spec = importlib.util.spec_from_file_location('engine_benchmark', ROOT / 'benchmarks' / 'engine.py')
    native = importlib.util.module_from_spec(spec)  # benchmarks/engine.py: the native timings
    spec.loader.exec_module(native)
    from microgpt import Config, read_documents
    settings = parse_config(args.config)
    Config(**settings).validate()
    label = ', '.join(f'{k} {v}' for k, v in settings.items()) or 'default'
    data = dist / 'data' / 'names.txt'
    docs = read_documents(data)
    ref = native.reference_path() or next((p for p in [ROOT.parent / 'shared' / 'reference' /
                                                       'microgpt_reference.py'] if p.exists()), None)
    steps = args.steps
    runs = {'page': [], 'native': [], 'reference': []}
    context = browser.new_context()
    page = context.new_page()
    page.on('dialog', lambda dialog: dialog.accept())
    for _ in range(args.repeats):
        visit(page, url + '#' + urlencode({**settings, 'num_steps': steps, 'engine': 'efficient'}))
        page.get_by_role('button', name='Train', exact=True).click()
        wait_for_step(page, max(1, steps // 10))
        s0, t0 = status_step(page), time.perf_counter()
        wait_for_step(page, steps, timeout=3600)
        runs['page'].append((time.perf_counter() - t0) * 1000 / (steps - s0))
        runs['native'].append(native.engine_ms_per_step(docs, settings, 'efficient', steps))
        if ref is not None and not runs.get('reference_failed'):
            runs['reference'].append(native.reference_ms_per_step(ref, data, {k: v for k, v in settings.items()
                                                                              if k in ('n_embd', 'n_head', 'n_layer',
                                                                                       'block_size')}, 10))
        if runs['reference'] and runs['reference'][-1] != runs['reference'][-1]:  # nan: the reference failed
            runs['reference'], runs['reference_failed'] = [], [True]
        print(f'{label}: page {runs["page"][-1]:.1f}, native efficient {runs["native"][-1]:.1f}' +
              (f', reference {runs["reference"][-1]:.0f}' if runs['reference'] else '') + ' ms/step', flush=True)
    context.close()
    lines = [f'{label} (names preset), ms/step: page, efficient {spread(runs["page"])}; '
             f'native efficient {spread(runs["native"])}']
    if runs['reference']:
        lines.append(f'{label}: reference program {spread(runs["reference"])} ms/step (10 steps a run)')
    else:
        lines.append('reference program: ' + ('failed (see its traceback above)' if runs.get('reference_failed')
                                              else 'not found (set MICROGPT_REFERENCE)'))
    return lines


def train_with_code(page):
    """Seconds from pressing Train with my code to the message of its first step."""
    page.evaluate('document.getElementById("code-error").textContent = ""')
    t0 = time.perf_counter()
    page.get_by_role('button', name='Train with my code').click()
    page.wait_for_function('() => /step 1 gave loss/.test(document.getElementById("code-error").textContent)',
                           timeout=120_000)
    seconds = time.perf_counter() - t0
    page.get_by_role('button', name='Pause').click()
    wait_ready(page)
    return seconds


SANDBOX_MARKS = '''() => { const m = performance.getEntriesByType("mark");
  const s = m.filter((e) => e.name === "microgpt:sandbox-start"), r = m.filter((e) => e.name === "microgpt:sandbox-ready");
  return r.map((e, i) => [(e.startTime - s[i].startTime) / 1000, e.detail]); }'''


def sandbox_section(browser, url, args, dist):
    times = {'first, at once after Edit': [], 'first, 10 s after Edit': [], 'second': [], 'after Reset': []}
    starts, hows = [], set()
    for _ in range(args.repeats):
        for wait in (0, 10):
            context = browser.new_context()
            page = context.new_page()
            page.on('dialog', lambda dialog: dialog.accept())
            visit(page, url)
            wait_offline_copy(page)
            visit(page, url)  # a repeat visit: the snapshot and the offline copy are kept
            page.wait_for_function('() => !document.getElementById("code-edit").disabled')
            page.get_by_role('button', name='Edit').click()
            page.evaluate('''() => { const t = JSON.parse(codeEditor.texts());
              t["microgpt/model.py"] += "\\n# edited\\n"; codeEditor.setTexts(JSON.stringify(t)); }''')
            page.wait_for_timeout(wait * 1000)
            labels = ['first, 10 s after Edit'] if wait else [label for label in times if label != 'first, 10 s after Edit']
            for label in labels:
                if label == 'after Reset':
                    page.get_by_role('button', name='Reset').click()
                    page.wait_for_function('() => !document.querySelector("iframe[sandbox]")')
                    wait_ready(page)
                seconds = train_with_code(page)
                times[label].append(seconds)
                print(f'Train with my code, {label}: {seconds:.2f} s', flush=True)
            for seconds, how in page.evaluate(SANDBOX_MARKS):
                starts.append(seconds)
                hows.add(how)
            context.close()
    return ['Train with my code to its first step, repeat visit: '
            + '; '.join(f'{label} {spread(values, " s")}' for label, values in times.items())
            + f'; the sandboxed worker\'s start-up {spread(starts, " s")} (Pyodide from: {", ".join(sorted(hows))})']


SECTIONS = {'engines': engines_section, 'ready': ready_section, 'autosave': autosave_section,
            'stepper': stepper_section, 'config': config_section, 'sandbox': sandbox_section}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--only', nargs='+', choices=list(SECTIONS), help='run only these sections')
    parser.add_argument('--steps', type=int, default=200, help='engines: steps for the original engine (efficient: 10x)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='engines: page runs of each engine; autosave: runs with and without (runs vary by a few %%)')
    parser.add_argument('--long-task-seconds', type=float, default=20.0)
    parser.add_argument('--view-repeats', type=int, default=15, help="engines: answers timed for each view's figure")
    parser.add_argument('--visits', type=int, default=3, help='ready: repeat visits timed')
    parser.add_argument('--autosave-seconds', type=float, default=30.0, help='autosave: training time of each run')
    parser.add_argument('--config', default='', metavar='SETTINGS',
                        help="config: settings as name=value,... (e.g. n_embd=64,n_layer=4); the section runs "
                             "when --config is given or named by --only")
    args = parser.parse_args()
    dist = build.build()
    server, url = build.serve_in_background(dist)
    summaries = []
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        for name in args.only or [n for n in SECTIONS if n != 'config' or args.config]:
            print(f'-- {name}', flush=True)
            summaries.append((name, SECTIONS[name](browser, url, args, dist)))
        browser.close()
    server.shutdown()
    for name, lines in summaries:
        print(f'== {name}')
        print('\n'.join(lines))


if __name__ == '__main__':
    main()
