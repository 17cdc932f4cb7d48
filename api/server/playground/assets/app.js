// The playground of speechd's reference page. Everything it knows about the
// API comes from the page, which the server rendered from openapi.json: the
// operation paths and the auth header are data attributes of the form, each
// control names its JSON property (data-field) and type (data-type), and the
// controls carry the spec's bounds and defaults. Nothing here talks to any
// host but the page's own.
'use strict';

(function () {
  const form = document.getElementById('speak-form');
  if (!form) return;
  const keyInput = document.getElementById('api-key');
  const controls = Array.from(form.querySelectorAll('[data-field]'));
  const statusList = document.getElementById('statuses');
  const statusEmpty = document.getElementById('status-empty');
  const result = document.getElementById('result');
  const audio = document.getElementById('audio');
  const download = document.getElementById('download');
  const lastBox = document.getElementById('last-response-box');
  const lastResponse = document.getElementById('last-response');
  // The operation paths are relative to the page, so a reverse proxy's
  // path prefix carries over to the calls.
  const createURL = new URL(form.dataset.createPath, document.baseURI).href;
  const resultURL = new URL(form.dataset.resultPath, document.baseURI).href;
  const authHeader = form.dataset.authHeader;
  const curlCreate = document.getElementById('curl-' + form.dataset.createOp);
  const curlResult = document.getElementById('curl-' + form.dataset.resultOp);

  // Polling: first call at once, then waits growing by half up to a cap, and
  // a limit after which the page stops asking (the task goes on).
  const FIRST_WAIT_MS = 250;
  const MAX_WAIT_MS = 2000;
  const GIVE_UP_MS = 15 * 60 * 1000;
  const KEY_STORAGE = 'asyncspeech.playground.apiKey';

  // The key lives in sessionStorage (this tab only), never in the page's
  // markup or a URL.
  try {
    keyInput.value = sessionStorage.getItem(KEY_STORAGE) || '';
  } catch (e) { /* storage may be disabled; the key then lasts as long as the field */ }
  keyInput.addEventListener('input', function () {
    try {
      if (keyInput.value) sessionStorage.setItem(KEY_STORAGE, keyInput.value);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch (e) { /* see above */ }
  });

  for (const c of controls) {
    if (c.type !== 'range') continue;
    const out = document.getElementById(c.id + '-value');
    const show = function () { out.value = c.value; };
    c.addEventListener('input', show);
    show();
  }

  // body is the create request the form describes, in the form's order.
  function body() {
    const b = {};
    for (const c of controls) {
      const name = c.dataset.field;
      switch (c.dataset.type) {
        case 'boolean':
          b[name] = c.checked;
          break;
        case 'number':
        case 'integer':
          if (c.value !== '') b[name] = Number(c.value);
          break;
        default:
          b[name] = c.value;
      }
    }
    return b;
  }

  function shellQuote(s) {
    return "'" + s.replace(/'/g, "'\\''") + "'";
  }

  function curl(url, payload) {
    return 'curl -sS -X POST ' + shellQuote(url) + ' \\\n' +
      '  -H "' + authHeader + ': $DISTRIBUTE_API_KEY" \\\n' +
      "  -H 'content-type: application/json' \\\n" +
      '  -d ' + shellQuote(JSON.stringify(payload));
  }

  let lastID = '';
  function updateCurl() {
    if (curlCreate) curlCreate.textContent = curl(createURL, body());
    if (curlResult) curlResult.textContent = curl(resultURL, { id: lastID || 'TASK_ID' });
  }
  form.addEventListener('input', updateCurl);
  form.addEventListener('change', updateCurl);
  updateCurl();

  function clock(d) {
    const p = function (n, w) { return String(n).padStart(w, '0'); };
    return p(d.getHours(), 2) + ':' + p(d.getMinutes(), 2) + ':' + p(d.getSeconds(), 2) + '.' + p(d.getMilliseconds(), 3);
  }

  let started = 0;
  // entry adds one line to the live region: the time, then a status (kind
  // "status") or a message (kind "info" or "error").
  function entry(kind, label, text) {
    const now = new Date();
    const li = document.createElement('li');
    li.className = kind;
    if (kind === 'status') li.dataset.status = label;
    const t = document.createElement('time');
    t.dateTime = now.toISOString();
    t.textContent = clock(now);
    const l = document.createElement('strong');
    l.textContent = label;
    const rest = document.createElement('span');
    rest.className = 'detail';
    rest.textContent = '+' + ((performance.now() - started) / 1000).toFixed(2) + ' s' + (text ? ' — ' + text : '');
    li.append(t, ' ', l, ' ', rest);
    statusEmpty.hidden = true;
    statusList.append(li);
  }

  function showResponse(resp, text) {
    lastBox.hidden = false;
    lastResponse.textContent = 'HTTP ' + resp.status + (resp.statusText ? ' ' + resp.statusText : '') + '\n' + text;
  }

  // call posts payload to url with the key, and returns the response with
  // its text and, when the text is JSON, its value.
  async function call(url, payload) {
    const headers = { 'content-type': 'application/json' };
    const key = keyInput.value.trim();
    if (key) headers[authHeader] = key;
    const resp = await fetch(url, {
      method: 'POST', headers: headers, body: JSON.stringify(payload),
      cache: 'no-store', credentials: 'omit', redirect: 'error',
    });
    const text = await resp.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* not JSON: shown as text */ }
    showResponse(resp, text);
    return { resp: resp, text: text, json: json };
  }

  // fail shows an error answer: the API's {"message"} as it came, or the
  // body's text when it has none.
  function fail(r) {
    const msg = r.json && typeof r.json.message === 'string' ? r.json.message : r.text;
    entry('error', r.resp.status + (r.resp.statusText ? ' ' + r.resp.statusText : ''), msg);
  }

  function sleep(ms) { return new Promise(function (res) { setTimeout(res, ms); }); }

  // retryAfter is the wait a 429 or 503 asks for, in ms (at least fallback).
  function retryAfter(resp, fallback) {
    const s = Number(resp.headers.get('retry-after'));
    return Number.isFinite(s) && s > 0 ? Math.min(s * 1000, 60000) : fallback;
  }

  let run = 0;
  async function speak() {
    const mine = ++run;
    const current = function () { return mine === run; };
    started = performance.now();
    statusList.replaceChildren();
    result.hidden = true;
    audio.removeAttribute('src');
    lastID = '';
    updateCurl();
    form.setAttribute('aria-busy', 'true');
    try {
      const created = await call(createURL, body());
      if (!current()) return;
      if (!created.resp.ok) { fail(created); return; }
      const id = created.json && created.json.id;
      if (typeof id !== 'string' || id === '') {
        entry('error', 'unexpected answer', 'the create call returned no id: ' + created.text);
        return;
      }
      lastID = id;
      updateCurl();
      entry('info', 'accepted', 'task ' + id);

      let wait = FIRST_WAIT_MS;
      let last = '';
      for (;;) {
        const r = await call(resultURL, { id: id });
        if (!current()) return;
        if (!r.resp.ok) {
          if (r.resp.status === 429 || r.resp.status === 503) {
            fail(r);
            await sleep(retryAfter(r.resp, wait));
            if (!current()) return;
            continue;
          }
          fail(r);
          return;
        }
        const task = r.json || {};
        if (typeof task.status !== 'string') {
          entry('error', 'unexpected answer', 'the result call returned no status');
          return;
        }
        if (task.status !== last) {
          last = task.status;
          entry('status', task.status);
        }
        if (task.status === 'COMPLETED') {
          const url = task.results && task.results[0] && task.results[0].url;
          if (!url) { entry('error', 'no audio', 'the task completed without a result URL'); return; }
          audio.src = url;
          download.href = url;
          download.download = id + '.wav';
          result.hidden = false;
          return;
        }
        if (task.status === 'ERROR') {
          entry('error', 'task failed', 'the task ended in ERROR; its response is below');
          lastBox.open = true;
          return;
        }
        if (performance.now() - started > GIVE_UP_MS) {
          entry('error', 'stopped waiting', 'no final status after ' + GIVE_UP_MS / 60000 + ' minutes; the task goes on, poll it with curl');
          return;
        }
        await sleep(wait);
        if (!current()) return;
        wait = Math.min(wait * 1.5, MAX_WAIT_MS);
      }
    } catch (err) {
      if (current()) entry('error', 'request failed', String(err && err.message || err));
    } finally {
      if (current()) form.removeAttribute('aria-busy');
    }
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    speak();
  });
})();
