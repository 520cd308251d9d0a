"""`worksheet serve`'s pages in a real headless browser (Debian's Chromium, driven by Selenium):
a student types step 1 with one slip, sees each box marked and the slip named, reloads, downloads
the marked PDF; an instructor edits a spec and sees the CLI's message, then the preview, and a
student's variant; a class's student (`serve --class`) signs in, works their variant and submits.

Needs /usr/bin/chromium and /usr/bin/chromedriver (`apt-get install chromium chromium-driver`);
no browser is downloaded at test time."""

import os
import time
from pathlib import Path

import pytest
from test_web import BUILTIN, CLASS_NAMES, SLIP, answers_for, live_server, make_class, serving  # noqa: F401

from worksheet.quantities import quantities
from worksheet.solve import solve
from worksheet.web import app as web

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
if not (os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)):
    pytest.skip(f"no Chromium here ({CHROMIUM} and {DRIVER}): apt-get install -y chromium chromium-driver",
                allow_module_level=True)

from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SHOTS = Path(os.environ.get("WORKSHEET_SCREENSHOTS", "/tmp"))


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for failed requests
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait(driver, condition, timeout=30):
    # a page a form submit replaces between finding an element and reading it: look again
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def checks(driver) -> int:
    return int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-checked") or -1)


def box_class(driver, key: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-box="{key}"]').get_attribute("class")


def note(driver, key: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-note="{key}"]').text


def test_student_types_step_1_with_a_slip(browser, live_server, downloads):  # noqa: F811
    browser.get(f"{live_server}/student/hw2-1")
    wait(browser, lambda d: checks(d) >= 0)
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    wait(browser, lambda d: checks(d) == 0)
    step1 = [q for q in quantities(solve(BUILTIN)) if q.step == 1]
    typed = answers_for(steps=(1,), slip=SLIP)["step1"]
    for q in step1:
        field = browser.find_element(By.NAME, q.key)
        field.send_keys(typed[q.name], Keys.TAB)  # leaving the box marks it
    wait(browser, lambda d: "right" in box_class(d, step1[-1].key) and "wrong" in box_class(d, SLIP))
    for q in step1:
        assert ("wrong" if q.key == SLIP else "right") in box_class(browser, q.key).split(), q.key
    assert "first" in box_class(browser, SLIP).split()
    assert "the ½ of the loss is left out" in note(browser, SLIP)
    assert "first wrong" in note(browser, SLIP).lower()
    first = browser.find_element(By.ID, "first-wrong").text
    assert "dL_dyhat1" in first and "½" in first
    # step 2's old p shows step 1's new p, as typed
    assert browser.find_element(By.CSS_SELECTOR, 'output[data-mirror="step1.new_W1_1_1"]').text == \
        typed["new_W1_1_1"]
    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    browser.save_screenshot(str(SHOTS / "worksheet-student-top.png"))

    # a reload keeps the answers (localStorage) and marks them again
    browser.refresh()
    wait(browser, lambda d: checks(d) >= 1)
    for q in step1:
        assert browser.find_element(By.NAME, q.key).get_attribute("value") == typed[q.name]
    assert "wrong" in box_class(browser, SLIP) and "½" in note(browser, SLIP)

    # carried on from the slip: carried forward, naming the number it follows from
    field = browser.find_element(By.NAME, "step1.delta3_1")
    field.clear()
    field.send_keys("7", Keys.TAB)
    wait(browser, lambda d: "carried" in box_class(d, "step1.delta3_1"))
    assert "right from your dL_dyhat1 = 7" in note(browser, "step1.delta3_1")
    browser.execute_script("document.getElementById('box-' + arguments[0]).scrollIntoView({block: 'center'})", SLIP)
    time.sleep(0.3)
    browser.save_screenshot(str(SHOTS / "worksheet-student.png"))
    field.clear()
    field.send_keys(typed["delta3_1"], Keys.TAB)
    wait(browser, lambda d: "right" in box_class(d, "step1.delta3_1"))

    # the slip mended: the toolbar's "First wrong" link goes (its display: block beat the hidden attribute)
    slipped = browser.find_element(By.NAME, SLIP)
    slipped.clear()
    slipped.send_keys(answers_for(steps=(1,))["step1"][SLIP.split(".")[1]], Keys.TAB)
    wait(browser, lambda d: "right" in box_class(d, SLIP))
    assert not browser.find_element(By.ID, "first-wrong").is_displayed()
    slipped.clear()
    slipped.send_keys(typed[SLIP.split(".")[1]], Keys.TAB)
    wait(browser, lambda d: "wrong" in box_class(d, SLIP) and d.find_element(By.ID, "first-wrong").is_displayed())

    # a number the checker cannot read is named at its box; the rest are still marked
    field = browser.find_element(By.NAME, "step2.z1_1")
    field.send_keys("1.5x", Keys.TAB)
    wait(browser, lambda d: "invalid" in box_class(d, "step2.z1_1"))
    assert "not a number" in note(browser, "step2.z1_1")
    assert "right" in box_class(browser, step1[0].key)
    field.clear()
    field.send_keys(Keys.TAB)

    # the marked PDF, downloaded as the button does it
    for old in downloads.iterdir():
        old.unlink()
    browser.find_element(By.ID, "download-pdf").click()
    try:
        wait(browser, lambda d: any(p.suffix == ".pdf" for p in downloads.iterdir()), timeout=60)
    except TimeoutException:
        pytest.fail(f"no PDF downloaded; the page says: {browser.find_element(By.ID, 'message').text!r}")
    pdf = next(p for p in downloads.iterdir() if p.suffix == ".pdf")
    assert pdf.name == "hw2-1-marked.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")


def test_instructor_edits_a_spec(browser, live_server, downloads):  # noqa: F811
    browser.get(f"{live_server}/instructor")
    validation = browser.find_element(By.ID, "validation")
    wait(browser, lambda d: "ok" in validation.get_attribute("class").split())
    assert "HW2-1" in validation.text
    frame = browser.find_element(By.ID, "preview")
    wait(browser, lambda d: "Answer key" in (frame.get_attribute("srcdoc") or ""))
    assert frame.get_attribute("sandbox") == ""
    time.sleep(0.5)
    browser.save_screenshot(str(SHOTS / "worksheet-instructor.png"))

    # a reload, a link or closing the tab asks before an edited spec is lost (as the "Start from" menu does)
    leaving = ("const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); "
               "return e.defaultPrevented")
    assert browser.execute_script(leaving) is False  # nothing edited yet

    # a typo: the command line's message, with its line, as they type
    spec = browser.find_element(By.ID, "spec")
    text = spec.get_attribute("value")
    browser.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))",
                           spec, text.replace('activation = "relu"', 'activation = "relux"', 1))
    wait(browser, lambda d: "bad" in validation.get_attribute("class").split())
    bad_line = next(n for n, line in enumerate(text.splitlines(), 1) if 'activation = "relu"' in line)
    assert f"Line {bad_line}:" in validation.text and "relux" in validation.text
    assert browser.find_element(By.CSS_SELECTOR, "#gutter .bad").text == str(bad_line)
    browser.save_screenshot(str(SHOTS / "worksheet-instructor-error.png"))
    assert browser.execute_script(leaving) is True

    # fixed, with another title: the preview follows
    browser.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))",
                           spec, text.replace("HW2-1: forward pass", "HW3: forward pass", 1))
    wait(browser, lambda d: "HW3" in (frame.get_attribute("srcdoc") or ""))
    browser.find_element(By.CSS_SELECTOR, '[data-preview="blank"]').click()
    wait(browser, lambda d: "Student ID" in (frame.get_attribute("srcdoc") or ""))

    # the answers template downloads
    for old in downloads.iterdir():
        old.unlink()
    browser.find_element(By.CSS_SELECTOR, '[data-download="answers"]').click()
    wait(browser, lambda d: any(p.suffix == ".toml" for p in downloads.iterdir()))
    got = next(p for p in downloads.iterdir() if p.suffix == ".toml").read_text()
    assert "[step1]" in got and 'z1_1 = ""' in got


def test_the_problem_list(browser, live_server):  # noqa: F811
    browser.get(live_server)
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a.button")]
    assert f"{live_server}/student/hw2-1" in links and f"{live_server}/student/mazur" in links
    browser.save_screenshot(str(SHOTS / "worksheet-index.png"))



# -- the page's layout, measured in the browser --------------------------------------------------------

def viewport(driver, width: int, height: int = 900) -> None:
    """The page laid out `width` px wide, as a phone shows it (a window is not made narrower than ~485 px)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def fresh(driver, url: str) -> None:
    """`url`'s student page with no answers kept."""
    driver.get(url)
    wait(driver, lambda d: checks(d) >= 0)
    driver.execute_script("localStorage.clear()")
    driver.refresh()
    wait(driver, lambda d: checks(d) == 0)


# The runs of text without a space in the formulas (∂L/∂w⁽²⁾₁₁, 𝛿⁽²⁾₁·𝑎⁽¹⁾₁) that the browser lays out
# on more than one line: its own line boxes (Range.getClientRects), whatever the markup around them.
SPLIT_WORDS = r"""
const out = [];
for (const el of document.querySelectorAll('.q .lhs, .q .rhs, table.updates th')) {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => n.parentElement.closest('.cell, .box') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.data.matchAll(/[^\s\u00a0]+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0);
      const tops = new Set(rects.map((r) => Math.round(r.bottom)));
      if (tops.size > 1) out.push(m[0]);
    }
  }
}
return out;
"""


@pytest.mark.parametrize("pid", ["hw2-1", "bce", "batch-momentum"])
def test_the_student_page_fits_a_phone(browser, live_server, pid):  # noqa: F811
    """At 420 px: no label or formula is split inside a symbol, nothing but a wide table scrolls sideways
    (in its own box), and tabbing into the table's right-hand column leaves the sheet's title in place."""
    viewport(browser, 420)
    try:
        fresh(browser, f"{live_server}/student/{pid}")
        page = browser.execute_script("return [document.documentElement.scrollWidth, "
                                      "document.documentElement.clientWidth]")
        assert page[0] <= page[1], f"the page is {page[0]} px wide in a {page[1]} px window"
        paper = browser.execute_script("const p = document.getElementById('sheet'); return [p.scrollWidth, "
                                       "p.clientWidth]")
        assert paper[0] <= paper[1], f"the sheet is {paper[0]} px wide in {paper[1]} px: it scrolls as a whole"
        # each left-hand side on one line: a label's subscript never on a line of its own
        tall = browser.execute_script("""
            return Array.from(document.querySelectorAll('.q .lhs')).filter((e) =>
              e.getBoundingClientRect().height > 1.5 * parseFloat(getComputedStyle(e).lineHeight))
              .map((e) => e.textContent)""")
        assert not tall, f"labels over two lines: {tall[:5]}"
        assert browser.execute_script(SPLIT_WORDS) == []
        # the update table is wider than a phone: it scrolls in a box of its own, inside the sheet
        table = browser.find_element(By.CSS_SELECTOR, "table.updates")
        scroller = browser.execute_script("""
            let e = arguments[0].parentElement;
            while (e && !['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) e = e.parentElement;
            return e && e.id !== 'sheet' ? [e.scrollWidth, e.clientWidth] : null""", table)
        assert scroller is not None and scroller[0] > scroller[1]
        # tabbing into the last column of the table scrolls that box, not the sheet with its title
        last = browser.find_elements(By.CSS_SELECTOR, "table.updates tbody tr:first-child input[data-key]")[-1]
        last.click()
        last.send_keys(Keys.TAB)
        time.sleep(0.3)
        title = browser.find_element(By.CSS_SELECTOR, "#sheet h1")
        left = browser.execute_script("return arguments[0].getBoundingClientRect().left", title)
        assert left >= 0, f"the title starts {left} px left of the screen"
        browser.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.2)
        browser.save_screenshot(str(SHOTS / f"worksheet-student-420-{pid}.png"))
        browser.execute_script("document.querySelector('.update').scrollIntoView()")
        time.sleep(0.2)
        browser.save_screenshot(str(SHOTS / f"worksheet-student-420-{pid}-update.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def box_places(driver) -> dict[str, tuple[float, float]]:
    """Each box's place relative to its line's left-hand side (the formula's start): (dx, dy)."""
    return {k: tuple(v) for k, v in driver.execute_script("""
        const out = {};
        for (const q of document.querySelectorAll('.q')) {
          const input = q.querySelector('input[data-key]');
          if (!input) continue;
          const lhs = q.querySelector('.lhs').getBoundingClientRect();
          const box = input.closest('.box').getBoundingClientRect();
          out[input.dataset.key] = [Math.round(box.left - lhs.left), Math.round(box.top - lhs.top)];
        }
        return out;""").items()}


def test_a_long_message_stays_under_its_box(browser, live_server):  # noqa: F811
    """At 1280 px a box marked "?" with a long message stayed in its line only when the message fit
    beside it; else the box moved under its formula. It keeps its place, its message under it."""
    fresh(browser, f"{live_server}/student/hw2-1")
    before = box_places(browser)
    keys = [q.key for q in quantities(solve(BUILTIN)) if q.step == 1]
    browser.execute_script("""
        for (const key of arguments[0]) {
          const input = document.querySelector('[name="' + key + '"]');
          input.value = 'abc';
          input.dispatchEvent(new Event('input'));
        }
        window.worksheetStudent.check();""", keys)
    wait(browser, lambda d: all("invalid" in box_class(d, k) for k in keys))
    after = box_places(browser)
    moved = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not moved, f"boxes moved when marked: {moved}"
    for key in keys:
        box, message = browser.execute_script("""
            const input = document.querySelector('[name="' + arguments[0] + '"]');
            const note = document.querySelector('[data-note="' + arguments[0] + '"]');
            return [input.closest('.box').getBoundingClientRect().toJSON(), note.getBoundingClientRect().toJSON()]""",
                                              key)
        assert "not a number" in note(browser, key)
        assert message["top"] >= box["bottom"] - 1 and abs(message["left"] - box["left"]) < 2, key
    browser.execute_script("document.getElementById('box-' + arguments[0]).scrollIntoView({block: 'center'})",
                           keys[2])
    time.sleep(0.2)
    browser.save_screenshot(str(SHOTS / "worksheet-student-long-messages.png"))


def test_a_box_that_is_not_a_number_sends_one_request_and_none_fails(browser, live_server):  # noqa: F811
    """Each box left sends one check; a typo ("abc", "1/0") is marked at its box from a 200 answer, never
    by a failed (4xx) request, and the boxes left after it are marked as ever."""
    fresh(browser, f"{live_server}/student/hw2-1")
    browser.get_log("browser")  # what earlier pages said
    browser.execute_script("""
        window.posts = 0;
        const original = window.fetch;
        window.fetch = (...args) => { window.posts += 1; return original(...args); };""")
    step1 = [q for q in quantities(solve(BUILTIN)) if q.step == 1]
    typed = answers_for(steps=(1,))["step1"]
    typed[step1[0].name], typed[step1[1].name] = "abc", "1/0"
    for n, q in enumerate(step1[:6]):
        browser.find_element(By.NAME, q.key).send_keys(typed[q.name], Keys.TAB)
        wait(browser, lambda d, n=n: checks(d) == n + 1)
    assert browser.execute_script("return window.posts") == 6
    assert "invalid" in box_class(browser, step1[0].key) and "invalid" in box_class(browser, step1[1].key)
    assert "divides by zero" in note(browser, step1[1].key)
    assert all("right" in box_class(browser, q.key) for q in step1[2:6])
    failed = [e["message"] for e in browser.get_log("browser") if "Failed to load resource" in e["message"]]
    assert not failed, failed


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    """`worksheet serve --class DIR` over a class of 3 (feedback on): (its base URL, DIR, the variants)."""
    root = tmp_path_factory.mktemp("webclass") / "class"
    specs = make_class(root)
    for url in serving(web.create_app(class_dir=root)):
        yield url, root, specs


def shoot(driver, name: str, width: int, full: bool = False) -> None:
    """A screenshot `name` at `width` px (the page's whole height with `full`)."""
    driver.set_window_size(width, 1000)
    time.sleep(0.3)
    if full:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(height, 6000))
        time.sleep(0.3)
    driver.save_screenshot(str(SHOTS / name))
    driver.set_window_size(1280, 1000)


def test_class_student_signs_in_fills_in_and_submits(browser, class_server):
    from worksheet.classes.classdir import grade_dir

    url, root, specs = class_server
    browser.get(f"{url}/")
    field = browser.find_element(By.ID, "student-id")
    shoot(browser, "worksheet-class-signin.png", 1280)
    shoot(browser, "worksheet-class-signin-420.png", 420)
    # an ID that is nobody's: said on the same page
    field.send_keys("nobody", Keys.ENTER)
    wait(browser, lambda d: "no student with the ID" in d.find_element(By.TAG_NAME, "body").text)
    shoot(browser, "worksheet-class-unknown-420.png", 420)
    field = browser.find_element(By.ID, "student-id")
    field.clear()
    field.send_keys("S02", Keys.ENTER)  # as typed, in the wrong case
    wait(browser, lambda d: d.current_url.endswith("/class/s02"))
    wait(browser, lambda d: checks(d) >= 0)
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    wait(browser, lambda d: checks(d) == 0)
    header = browser.find_element(By.CSS_SELECTOR, ".student-line").text
    assert CLASS_NAMES["s02"] in header and "s02" in header
    assert "Not submitted yet" in browser.find_element(By.ID, "submitted").text
    assert not browser.find_elements(By.ID, "download-pdf")  # the marked PDF prints the key's values

    typed = answers_for(specs["s02"], slip=SLIP)
    inputs = browser.find_elements(By.CSS_SELECTOR, "input[data-key]")
    for field in inputs:
        step, name = field.get_attribute("name").split(".")
        field.send_keys(typed[step][name], Keys.TAB)
    wait(browser, lambda d: "wrong" in box_class(d, SLIP) and "right" in box_class(d, inputs[-1].get_attribute("name")))
    assert "½" in note(browser, SLIP)
    browser.execute_script("window.scrollTo(0, 0)")
    shoot(browser, "worksheet-class-student.png", 1280)
    shoot(browser, "worksheet-class-student-420.png", 420)

    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: d.switch_to.alert).accept()  # "Submit your answers? …"
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-submitted") == "1")
    assert "Submitted" in browser.find_element(By.ID, "submitted").text
    browser.execute_script("window.scrollTo(0, 0)")
    shoot(browser, "worksheet-class-submitted.png", 1280)

    # another browser (no answers kept) starts from the submission
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    wait(browser, lambda d: checks(d) >= 1)
    assert browser.find_element(By.NAME, SLIP).get_attribute("value") == typed["step1"][SLIP.split(".")[1]]
    assert "Submitted" in browser.find_element(By.ID, "submitted").text

    _, _, _, book = grade_dir(root, root / "submissions")
    row = next(r for r in book.rows if r.entry.id == "s02")
    assert row.status == "marked" and ("half", SLIP) in row.slips
    assert all(r.status == "no submission" for r in book.rows if r.entry.id != "s02")


def test_instructor_previews_a_students_variant(browser, live_server):  # noqa: F811
    browser.get(f"{live_server}/instructor?problem=class-variants")
    validation = browser.find_element(By.ID, "validation")
    wait(browser, lambda d: "ok" in validation.get_attribute("class").split())
    assert browser.find_element(By.ID, "as-student").is_displayed()
    browser.find_element(By.ID, "variant-student").send_keys("alice")
    browser.find_element(By.ID, "variant-seed").send_keys("2025")
    frame = browser.find_element(By.ID, "preview")
    wait(browser, lambda d: "(student alice)" in (frame.get_attribute("srcdoc") or ""))
    assert "alice" in validation.text
    assert browser.find_element(By.CSS_SELECTOR, '[data-download="variant"]').is_displayed()
    time.sleep(0.5)
    shoot(browser, "worksheet-instructor-variant.png", 1280)
    shoot(browser, "worksheet-instructor-variant-420.png", 420)
