"""How a large dataset gets into the page: a 9.9 MB word list uploaded, then pasted (a clipboard paste event).

    python benchmarks/paste.py [--mb 9.9]

Prints, for each way in, the seconds from the action to the dataset shown, the longest main-thread task
(the Long Tasks API reports those over 50 ms), and the page's JavaScript heap after it (Chromium's
Performance.getMetrics). The goal: the paste comparable to the upload, no main-thread task over 100 ms.
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tests'))

import build  # noqa: E402
from browser import launch  # noqa: E402

LONG_TASKS = """
window.__longest = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
}).observe({ type: "longtask", buffered: true });
"""
CLIPBOARD = """(text) => { window.__data = new DataTransfer(); window.__data.setData('text/plain', text); }"""
PASTE = """() => document.getElementById('paste').dispatchEvent(
    new ClipboardEvent('paste', {clipboardData: window.__data, bubbles: true, cancelable: true}))"""


def heap_mb(cdp):
    metrics = {m['name']: m['value'] for m in cdp.send('Performance.getMetrics')['metrics']}
    return metrics['JSHeapUsedSize'] / 1e6


def measure(page, cdp, action, lines):
    page.evaluate('window.__longest = 0')
    start = time.perf_counter()
    action()
    page.wait_for_function(f"document.getElementById('data-summary').textContent.includes('{lines:,} documents')",
                           timeout=120_000)
    seconds = time.perf_counter() - start
    page.wait_for_function("!document.getElementById('train').disabled", timeout=120_000)
    cdp.send('HeapProfiler.collectGarbage')
    return seconds, page.evaluate('window.__longest'), heap_mb(cdp)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--mb', type=float, default=9.9)
    args = parser.parse_args()
    lines = int(args.mb * 1e6 / 9)
    text = 'abcdefgh\n' * lines
    dist = build.build()
    server, url = build.serve_in_background(dist)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        results = {}
        for way in ('upload', 'paste'):
            page = browser.new_page()
            page.on('dialog', lambda dialog: dialog.accept())
            page.add_init_script(LONG_TASKS)
            page.goto(url)
            page.wait_for_function("!document.getElementById('train').disabled", timeout=120_000)
            cdp = page.context.new_cdp_session(page)
            cdp.send('Performance.enable')
            cdp.send('HeapProfiler.collectGarbage')
            before = heap_mb(cdp)
            if way == 'upload':
                def action():
                    page.get_by_label('Upload word list').set_input_files(
                        files=[{'name': 'words.txt', 'mimeType': 'text/plain', 'buffer': text.encode()}])
            else:
                page.locator('summary', has_text='Paste').click()
                page.evaluate(CLIPBOARD, text)  # the clipboard, filled before the timing starts

                def action():
                    page.evaluate(PASTE)
                    page.get_by_role('button', name='Use pasted text').click()
            seconds, longest, after = measure(page, cdp, action, lines)
            results[way] = (seconds, longest, after - before)
            print(f'{way}: {seconds:.2f} s to the dataset shown; longest main-thread task '
                  f'{longest:.0f} ms; JS heap +{after - before:.1f} MB', flush=True)
            page.close()
        browser.close()
    server.shutdown()
    print(f"{'way':<8} {'seconds':>8} {'longest task ms':>16} {'JS heap +MB':>12}   ({args.mb} MB, {lines:,} lines)")
    for way, (seconds, longest, heap) in results.items():
        print(f'{way:<8} {seconds:>8.2f} {longest:>16.0f} {heap:>12.1f}')


if __name__ == '__main__':
    main()
