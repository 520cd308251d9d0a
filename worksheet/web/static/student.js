// The student page: answers kept in localStorage (by problem, or class student, and sheet
// version), marked when a box is left by the check URL the page names (POST /api/check, the same
// checker as `worksheet check`; in class mode /api/class/ID/check, against the student's own key,
// or with feedback off only read). In class mode, Submit saves the answers on the server.
"use strict";
(function () {
  const sheetEl = document.getElementById("sheet");
  const sheet = sheetEl.dataset.sheet;
  const storeKey = sheetEl.dataset.store;
  const stem = sheetEl.dataset.stem;
  const baseBody = JSON.parse(sheetEl.dataset.body || "{}");
  const urls = { check: sheetEl.dataset.check, answers: sheetEl.dataset.answers, pdf: sheetEl.dataset.pdf,
    submit: sheetEl.dataset.submit };
  const submittedEl = document.getElementById("submitted");
  const inputs = Array.from(document.querySelectorAll("input[data-key]"));
  const byKey = new Map(inputs.map((i) => [i.dataset.key, i]));
  const scoreEl = document.getElementById("score");
  const firstEl = document.getElementById("first-wrong");
  const messageEl = document.getElementById("message");
  const LABEL = { right: "right", carried: "carried forward", wrong: "wrong" };

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(storeKey) || "{}");
      return saved && typeof saved === "object" ? saved : {};
    } catch (e) {
      return {};
    }
  }

  function save() {
    const out = {};
    for (const i of inputs) if (i.value.trim()) out[i.dataset.key] = i.value;
    try {
      localStorage.setItem(storeKey, JSON.stringify(out));
    } catch (e) {
      /* storage full or disabled: the page still marks */
    }
  }

  function tables() {
    const out = { sheet: sheet };
    for (const i of inputs) {
      const text = i.value.trim();
      const key = i.dataset.key;
      if (!text) continue;
      const dot = key.indexOf(".");
      const step = key.slice(0, dot);
      (out[step] = out[step] || {})[key.slice(dot + 1)] = text;
    }
    return out;
  }

  function showMessage(text) {
    messageEl.textContent = text || "";
    messageEl.hidden = !text;
  }

  function mirror() {
    for (const out of document.querySelectorAll("output[data-mirror]")) {
      const source = byKey.get(out.dataset.mirror);
      out.textContent = source ? source.value.trim() : "";
    }
  }

  function setMark(key, verdict, note) {
    const input = byKey.get(key);
    if (!input) return;
    const box = input.closest(".box");
    box.classList.remove("right", "carried", "wrong", "invalid", "first");
    if (verdict) box.classList.add(verdict);
    const noteEl = document.querySelector('[data-note="' + CSS.escape(key) + '"]');
    noteEl.className = "note" + (verdict ? " " + verdict : "");
    noteEl.textContent = note || "";
    input.setAttribute("aria-invalid", verdict === "wrong" || verdict === "invalid" ? "true" : "false");
    input.title = verdict ? LABEL[verdict] || "not a number" : input.getAttribute("aria-label");
  }

  function showProgress(data, unreadable) {
    for (const key of byKey.keys()) {
      if (unreadable.has(key)) setMark(key, "invalid", unreadable.get(key));
      else setMark(key, "", "");
    }
    scoreEl.textContent = data.answered + " of " + data.boxes + " boxes filled in" +
      (unreadable.size ? " · " + unreadable.size + " not a number" : "") + " · marked when your instructor grades";
  }

  function show(marking, unreadable) {
    if (marking.feedback === false) return showProgress(marking, unreadable);
    for (const step of document.querySelectorAll(".step.has-first")) step.classList.remove("has-first");
    for (const q of marking.quantities) {
      if (unreadable.has(q.key)) {
        setMark(q.key, "invalid", unreadable.get(q.key));
      } else if (q.yours === null) {
        setMark(q.key, "", "");
      } else if (q.verdict === "wrong") {
        setMark(q.key, "wrong", q.mistake ? q.mistake.words : q.note || "wrong");
      } else if (q.verdict === "carried") {
        setMark(q.key, "carried", q.note);
      } else {
        setMark(q.key, q.verdict === "right" ? "right" : "", "");
      }
    }
    const c = marking.counts;
    const fmt = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, ""));
    const todo = c.missing - unreadable.size;
    scoreEl.textContent = "Score " + fmt(marking.score) + " of " + fmt(marking.points) + " · " + c.right + " right · " +
      c.carried + " carried forward · " + c.wrong + " wrong" + (unreadable.size ? " · " + unreadable.size + " not a number" : "") +
      " · " + todo + " to do";
    const first = marking.first_wrong;
    if (first) {
      const q = marking.quantities.find((r) => r.key === first);
      const input = byKey.get(first);
      if (input) {
        input.closest(".box").classList.add("first");
        const flag = document.createElement("span");
        flag.className = "flag";
        flag.textContent = "first wrong";
        const noteEl = document.querySelector('[data-note="' + CSS.escape(first) + '"]');
        noteEl.prepend(flag);
        const section = input.closest(".step");
        if (section) section.classList.add("has-first");
      }
      firstEl.hidden = false;
      firstEl.href = "#box-" + first;
      firstEl.textContent = "First wrong: step " + q.step + ", " + q.name + " (" + q.words + ")" +
        (q.mistake ? ": " + q.mistake.words : "");
    } else {
      firstEl.hidden = true;
    }
  }

  async function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({}, baseBody, body)),
    });
  }

  // one check at a time; a box left while one runs asks for one more afterwards
  let running = null;
  let again = false;
  async function check() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await checkOnce();
      } while (again);
    })();
    try {
      await running;
    } finally {
      running = null;
    }
  }

  // One request per check: the server marks what it can read and names each box whose text is not
  // a number in `unreadable` (key -> why), so a typo in one box is marked at that box, not sent
  // again and refused once per bad box. A refusal (4xx) is a request the page should not have made.
  async function checkOnce() {
    let response;
    let data;
    try {
      response = await post(urls.check, { answers: tables() });
      data = await response.json();
    } catch (e) {
      showMessage("The server did not answer; is `worksheet serve` still running?");
      return;
    }
    if (!response.ok) {
      showMessage(data.error || "The server could not mark this.");
      return;
    }
    showMessage("");
    show(data, new Map(Object.entries(data.unreadable || {})));
    document.body.dataset.checked = String(Number(document.body.dataset.checked || 0) + 1);
  }

  function filename(response, fallback) {
    const m = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return m ? m[1] : fallback;
  }

  async function download(button, url, body, fallback) {
    button.disabled = true;
    try {
      const response = await post(url, body);
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        showMessage(data.error || "The download failed.");
        if (data.key && byKey.has(data.key)) byKey.get(data.key).focus(); // the box the message is about
        return;
      }
      showMessage("");
      const blob = await response.blob();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = filename(response, fallback);
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    } catch (e) {
      showMessage("The server did not answer; is `worksheet serve` still running?");
    } finally {
      button.disabled = false;
    }
  }

  let saved = load();
  if (!Object.keys(saved).length) { // a browser new to this sheet: start from the last submission, if any
    saved = JSON.parse(sheetEl.dataset.prefill || "{}");
    if (Object.keys(saved).length) {
      for (const i of inputs) if (typeof saved[i.dataset.key] === "string") i.value = saved[i.dataset.key];
      save();
    }
  }
  for (const i of inputs) if (typeof saved[i.dataset.key] === "string") i.value = saved[i.dataset.key];
  mirror();
  for (const i of inputs) {
    i.addEventListener("input", () => {
      save();
      mirror();
    });
    i.addEventListener("change", check); // fires as the box is left, when its number changed
    i.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        const next = inputs[inputs.indexOf(i) + 1];
        if (next) next.focus();
        else i.blur();
      }
    });
  }
  function when(iso) {
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  function showReceipt(number, iso) {
    submittedEl.classList.add("done");
    submittedEl.textContent = "Submitted ";
    const t = document.createElement("time");
    t.dateTime = iso;
    t.textContent = when(iso);
    submittedEl.append(t, " (submission " + number + "); the last one counts.");
  }

  async function submitAnswers(button) {
    const answers = tables();
    const filled = Object.keys(answers).filter((k) => k !== "sheet").length;
    if (!filled) {
      showMessage("Nothing to submit: every box is empty.");
      return;
    }
    if (!confirm("Submit your answers? You may submit again later; the last submission counts.")) return;
    button.disabled = true;
    try {
      const response = await post(urls.submit, { answers: answers });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        showMessage(data.error || "The answers could not be submitted.");
        if (data.key && byKey.has(data.key)) byKey.get(data.key).focus();
        return;
      }
      showMessage("");
      showReceipt(data.number, data.time);
      document.body.dataset.submitted = String(data.number);
    } catch (e) {
      showMessage("The server did not answer; your answers are kept in this browser: try again in a moment.");
    } finally {
      button.disabled = false;
    }
  }

  const pdfButton = document.getElementById("download-pdf");
  if (pdfButton) {
    pdfButton.addEventListener("click", (e) =>
      download(e.currentTarget, urls.pdf, { answers: tables(), blank: true, format: "pdf" },
        stem + "-marked.pdf"));
  }
  const submitButton = document.getElementById("submit");
  if (submitButton) submitButton.addEventListener("click", (e) => submitAnswers(e.currentTarget));
  if (submittedEl) {
    const t = submittedEl.querySelector("time");
    if (t) t.textContent = when(t.dateTime);
  }
  document.getElementById("download-answers").addEventListener("click", (e) =>
    download(e.currentTarget, urls.answers, { answers: tables() }, stem + "-filled.toml"));
  document.getElementById("clear").addEventListener("click", () => {
    if (!confirm("Clear every answer on this sheet?")) return;
    for (const i of inputs) i.value = "";
    save();
    mirror();
    check();
  });
  window.worksheetStudent = { check: check };
  if (Object.keys(saved).length) check();
  else document.body.dataset.checked = "0";
})();
