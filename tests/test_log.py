"""The training log: the page's download is what the engine computes.

Byte-identical to the same engine under Pyodide in Node.js (the npm `pyodide` package, the same files the
page serves); within 1e-9 relative of the native CLI (native CPython and Pyodide use different C maths
libraries, whose exp/log differ in the last bit).
"""
import re
import subprocess
import sys

import pytest

from conftest import ROOT

WORDS = ['amber', 'basil', 'cedar', 'daisy', 'ember', 'fern', 'ginger', 'hazel', 'iris', 'juniper', 'kale',
         'laurel', 'maple', 'nutmeg', 'olive', 'poppy', 'quince', 'rowan', 'sage', 'thyme', 'umber', 'violet',
         'willow', 'yarrow', 'zinnia']
STEPS = 15
CLI_FLAGS = ['--steps', str(STEPS), '--samples', '0', '--seed', '7']


def native_log(tmp_path, engine='original'):
    (tmp_path / 'words.txt').write_text('\n'.join(WORDS) + '\n')
    subprocess.run([sys.executable, '-m', 'microgpt', '--input', 'words.txt', '--log', 'native.csv',
                    '--engine', engine, *CLI_FLAGS], cwd=tmp_path, check=True, capture_output=True,
                   env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin'})
    return (tmp_path / 'native.csv').read_text()


def assert_close_logs(a, b, rel=1e-9):
    rows_a, rows_b = a.splitlines(), b.splitlines()
    assert rows_a[0] == rows_b[0] == 'step,loss,learning_rate'
    assert len(rows_a) == len(rows_b) == STEPS + 1
    for ra, rb in zip(rows_a[1:], rows_b[1:]):
        sa, la, lra = ra.split(',')
        sb, lb, lrb = rb.split(',')
        assert sa == sb and lra == lrb  # the learning rate is plain arithmetic: identical everywhere
        assert float(la) == pytest.approx(float(lb), rel=rel)


def test_pyodide_log_is_close_to_native(pyodide_words_log, tmp_path):
    native = native_log(tmp_path)
    pyo = pyodide_words_log()
    assert_close_logs(native, pyo)
    assert re.fullmatch(r'1,\d\.\d+,0\.01', pyo.splitlines()[1])


def test_page_download_equals_pyodide_log(pyodide_words_log, site_url, browser, tmp_path):
    (tmp_path / 'words.txt').write_text('\n'.join(WORDS) + '\n')
    page = browser.new_page()
    page.goto(site_url)
    page.get_by_label('Seed').fill('7')
    page.get_by_label('Steps', exact=True).fill(str(STEPS))
    page.get_by_label('Upload word list').set_input_files(str(tmp_path / 'words.txt'))
    train = page.get_by_role('button', name='Train', exact=True)
    page.wait_for_function('b => !b.disabled', arg=train.element_handle(), timeout=120_000)
    train.click()
    status = page.get_by_role('status').filter(has_text=f'step {STEPS} / {STEPS}')
    status.wait_for(timeout=120_000)
    with page.expect_download() as info:
        page.get_by_role('button', name='Download log').click()
    downloaded = (tmp_path / 'page.csv')
    info.value.save_as(downloaded)
    assert downloaded.read_text() == pyodide_words_log()
    page.close()
