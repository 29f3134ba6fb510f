"""A MODEL answer is taken the same way wherever it comes from (web/page/model_answer.py): a model of edited code
(the Code panel's Train with my code) with validation on draws the validation line and the loss of guessing
uniformly, as a model of the shipped code does, and the previous run's overlay names no change of dataset."""
import math

from microgpt import Config, Trainer
from microgpt.trainer import VALIDATION_EVERY, VALIDATION_SAMPLE

from test_code_panel import CodePage
from test_instruments_page import VALIDATION, legend, names  # noqa: F401 - the fixture
from test_page import STEP_TIMEOUT

SQUARED_RELU = ('x = [xi.relu() for xi in x]', 'x = [xi.relu() ** 2 for xi in x]')


def test_a_run_of_edited_code_draws_the_validation_line_and_keeps_the_dataset(browser, site_url, names):  # noqa: F811
    cp = CodePage(browser, site_url)
    try:
        cp.page.get_by_role('checkbox', name=VALIDATION, exact=True).check()
        cp.fresh(3)
        cp.step()  # a point on the chart: the run becomes the overlay of the next model
        cp.code_button('Edit').click()
        path = 'microgpt/model.py'
        source = cp.texts()[path]
        cp.paste(path, source.replace(*SQUARED_RELU))
        cp.train_with_code()
        cp.wait_status(3, 3, timeout=120_000)
        cp.page.wait_for_function('() => lossChart.legend().join().includes("previous run")', timeout=STEP_TIMEOUT)
        vocab = Trainer(Config(validation=True), names).vocab_size
        assert legend(cp) == ['loss', 'smoothed',
                              f'validation loss ({VALIDATION_SAMPLE} held-out documents, every {VALIDATION_EVERY} steps)',
                              f'guessing uniformly: ln {vocab} = {math.log(vocab):.2f}',
                              'previous run: same settings']
        assert cp.errors == []
    finally:
        cp.close()
