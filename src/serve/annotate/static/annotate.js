/* global window, document, location, history, crypto, URLSearchParams */
// The annotator's page: one leased task at a time (pair, ranking or rating); answers are sent with
// an idempotency key so a retried submit is not counted twice. Model outputs are untrusted: shown
// with textContent only. While an answer is saving, keys are refused with a visible notice (never
// silently dropped, never applied to a task not yet shown); body[data-state] says where we are.
'use strict';
(function () {
  const g = window.gshf;
  const $ = (id) => document.getElementById(id);
  const state = {
    project: null,
    projects: [],
    task: null,
    key: null,
    busy: false,
    order: [],
    ratings: {},
    dim: 0,
  };
  const PAIR_KEYS = {
    a: 'left',
    1: 'left',
    b: 'right',
    2: 'right',
    t: 'tie',
    3: 'tie',
    x: 'both-bad',
    4: 'both-bad',
  };

  const say = (msg) => ($('status').textContent = msg);
  const notice = (msg) => ($('notice').textContent = msg);
  const setState = (s) => (document.body.dataset.state = s);
  const base = () => '/api/projects/' + encodeURIComponent(state.project);

  function showProgress(p) {
    $('progress').textContent = 'Done: ' + p.done + ' · left for you: ' + p.remaining;
  }

  function showMetadata(meta) {
    const keys = Object.keys(meta || {});
    $('meta-box').hidden = keys.length === 0;
    $('metadata').replaceChildren(
      ...keys.flatMap((k) => [g.el('dt', k), g.el('dd', meta[k] === null ? '—' : meta[k])]),
    );
  }

  function showRanking(task) {
    state.order = [];
    $('rank-list').replaceChildren(
      ...task.responses.map((text, i) => {
        const li = g.el('li', null, { 'data-pos': String(i) });
        const btn = g.el('button', 'Rank next', { type: 'button', 'aria-keyshortcuts': String(i + 1) });
        btn.appendChild(g.el('kbd', String(i + 1)));
        btn.addEventListener('click', () => rankNext(i));
        li.append(
          g.el('span', '', { class: 'badge' }),
          g.el('div', text, { class: 'text', tabindex: '0' }),
          btn,
        );
        return li;
      }),
    );
    showOrder();
  }

  function showOrder() {
    for (const li of $('rank-list').children) {
      const at = state.order.indexOf(Number(li.dataset.pos));
      li.querySelector('.badge').textContent = at < 0 ? '' : '#' + (at + 1);
      li.classList.toggle('ranked', at >= 0);
    }
    $('rank-order').textContent = state.order.length
      ? state.order.map((p) => 'response ' + (p + 1)).join(' > ')
      : 'none yet';
  }

  function showRating(task) {
    state.ratings = {};
    state.dim = 0;
    $('rate-response').textContent = task.response;
    const { min, max, dimensions } = task.scale;
    $('rate-dims').replaceChildren(
      ...dimensions.map((d, di) => {
        const fs = g.el('fieldset', null, { 'data-dim': d });
        fs.appendChild(g.el('legend', d + ' (' + min + '–' + max + ')'));
        for (let v = min; v <= max; v++) {
          const id = 'r-' + di + '-' + v;
          const input = g.el('input', null, { type: 'radio', name: 'dim-' + di, id, value: String(v) });
          input.addEventListener('change', () => rate(di, v));
          fs.append(input, g.el('label', String(v), { for: id }));
        }
        return fs;
      }),
    );
    showDims();
  }

  function showDims() {
    [...$('rate-dims').children].forEach((fs, i) => fs.classList.toggle('current', i === state.dim));
  }

  function show(data) {
    state.task = data.task;
    state.key = data.task ? crypto.randomUUID() : null;
    showProgress(data.progress);
    const t = data.task;
    $('work').hidden = !t;
    $('empty').hidden = !!t;
    document.body.dataset.taskId = t ? String(t.id) : '';
    if (!t) {
      $('empty-detail').textContent =
        'You have answered ' +
        data.progress.done +
        ' task(s) here. Tasks whose leases run out come back, so check again later.';
      return;
    }
    $('prompt').textContent = t.prompt;
    showMetadata(t.metadata);
    for (const k of ['pair', 'ranking', 'rating']) $(k).hidden = t.kind !== k;
    $('pair-choices').hidden = t.kind !== 'pair';
    $('submit-choices').hidden = t.kind === 'pair';
    if (t.kind === 'pair') {
      $('left').textContent = t.left;
      $('right').textContent = t.right;
    } else if (t.kind === 'ranking') showRanking(t);
    else showRating(t);
    $('rationale').value = '';
    say('New ' + t.kind + ' task loaded. Press ? for the keys.');
  }

  /** Ends a busy phase: keys work again, and body[data-state] says so (tests wait on it). */
  function settle() {
    state.busy = false;
    setState(state.task ? 'ready' : 'empty');
  }

  async function fetchNext() {
    show(await g.api('POST', base() + '/next'));
  }

  async function next() {
    if (!state.project) return;
    state.busy = true;
    setState('loading');
    try {
      await fetchNext();
    } catch (e) {
      say('Could not load a task: ' + e.message);
    } finally {
      settle();
    }
  }

  function rankNext(pos) {
    if (state.order.includes(pos) || pos >= state.task.responses.length) return;
    state.order.push(pos);
    if (state.order.length === state.task.responses.length - 1) {
      for (let i = 0; i < state.task.responses.length; i++) if (!state.order.includes(i)) state.order.push(i);
    }
    showOrder();
  }

  function rate(di, v) {
    const d = state.task.scale.dimensions[di];
    state.ratings[d] = v;
    const input = $('r-' + di + '-' + v);
    if (input) input.checked = true;
    state.dim = Math.min(di + 1, state.task.scale.dimensions.length - 1);
    showDims();
  }

  /** The answer body for the current task, or a message saying what is missing. */
  function answer(choice) {
    const t = state.task;
    if (choice) return { choice };
    if (t.kind === 'ranking') {
      if (state.order.length !== t.responses.length)
        return 'Rank every response first (keys 1–' + t.responses.length + ').';
      return { ranking: state.order.slice() };
    }
    const missing = t.scale.dimensions.filter((d) => !(d in state.ratings));
    if (missing.length) return 'Rate ' + missing.join(', ') + ' first.';
    return { ratings: Object.assign({}, state.ratings) };
  }

  async function submit(choice) {
    if (!state.task) return;
    const a = answer(choice);
    if (typeof a === 'string') return say(a);
    state.busy = true;
    setState('saving');
    const path = base() + '/tasks/' + state.task.id + '/annotations';
    const body = Object.assign(a, { rationale: $('rationale').value, idempotency_key: state.key });
    try {
      try {
        await g.api('POST', path, body);
      } catch (e) {
        if (e.status) throw e;
        await g.api('POST', path, body); // network error: retry once with the same key
      }
      $('undo').disabled = false;
      say('Saved: ' + (choice || state.task.kind) + '.');
      await fetchNext();
    } catch (e) {
      say('Not saved: ' + e.message);
      if (e.status === 409) await fetchNext().catch(() => undefined);
    } finally {
      settle();
    }
  }

  async function undo() {
    if (state.busy) return refuse('U');
    state.busy = true;
    setState('saving');
    try {
      await g.api('POST', base() + '/undo');
      await fetchNext();
      say('Undone: your last answer was withdrawn; answer it again.');
    } catch (e) {
      say('Not undone: ' + e.message);
    } finally {
      $('undo').disabled = true;
      settle();
    }
  }

  function refuse(key) {
    notice(
      'Still saving your last answer: "' +
        key +
        '" was not applied. Press it again once the next task shows.',
    );
  }

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tag = ev.target && ev.target.tagName;
    if (tag === 'TEXTAREA' || tag === 'SELECT' || (tag === 'INPUT' && ev.target.type !== 'radio')) {
      if (ev.key === 'Escape') ev.target.blur();
      return;
    }
    if ($('help').open) return;
    const k = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (k === '?') return (ev.preventDefault(), $('help').showModal());
    const handled =
      ['s', 'u', 'Enter', 'Backspace', 'ArrowUp', 'ArrowDown'].includes(k) ||
      /^\d$/.test(k) ||
      k in PAIR_KEYS;
    if (!handled) return;
    ev.preventDefault();
    if (state.busy) return refuse(ev.key);
    notice('');
    if (k === 'u') return undo();
    if (!state.task) return;
    if (k === 's') return submit('skip');
    taskKey(state.task.kind, k);
  }

  function taskKey(kind, k) {
    if (kind === 'pair') {
      if (PAIR_KEYS[k]) submit(PAIR_KEYS[k]);
    } else if (k === 'Enter') submit(null);
    else if (kind === 'ranking') {
      if (k === 'Backspace') {
        state.order.pop();
        showOrder();
      } else if (/^[1-9]$/.test(k)) rankNext(Number(k) - 1);
    } else if (k === 'ArrowUp' || k === 'ArrowDown') {
      const n = state.task.scale.dimensions.length;
      state.dim = (state.dim + (k === 'ArrowDown' ? 1 : n - 1)) % n;
      showDims();
    } else if (k === 'Backspace') {
      state.ratings = {};
      showRating(state.task);
    } else if (/^\d$/.test(k)) {
      const v = Number(k);
      const { min, max } = state.task.scale;
      if (v >= min && v <= max) rate(state.dim, v);
    }
  }

  function selectProject(name) {
    state.project = name;
    const p = state.projects.find((x) => x.name === name);
    const md = p && p.guidelines ? p.guidelines : '';
    $('guidelines-box').hidden = md === '';
    window.gshfMarkdown.render(md, $('guidelines'));
  }

  document.addEventListener('keydown', onKey);
  for (const b of document.querySelectorAll('[data-choice]'))
    b.addEventListener('click', () => (state.busy ? refuse(b.textContent) : submit(b.dataset.choice)));
  $('submit').addEventListener('click', () => (state.busy ? refuse('Submit') : submit(null)));
  $('clear').addEventListener('click', () => state.task && taskKey(state.task.kind, 'Backspace'));
  $('undo').addEventListener('click', () => undo());
  $('again').addEventListener('click', () => next());
  $('help-open').addEventListener('click', () => $('help').showModal());
  $('logout').addEventListener('click', () => g.logout());
  $('project').addEventListener('change', () => {
    selectProject($('project').value);
    history.replaceState(null, '', '?project=' + encodeURIComponent(state.project));
    next();
  });

  (async () => {
    const me = await g.session('annotator');
    if (!me) return;
    $('who').textContent = me.name;
    state.projects = (await g.api('GET', '/api/projects')).projects;
    const wanted = new URLSearchParams(location.search).get('project');
    for (const p of state.projects) $('project').appendChild(g.el('option', p.name, { value: p.name }));
    const first = state.projects.some((p) => p.name === wanted)
      ? wanted
      : state.projects.length
        ? state.projects[0].name
        : null;
    if (first) {
      $('project').value = first;
      selectProject(first);
    } else say('No projects yet.');
    await next();
  })().catch((e) => say('Error: ' + e.message));
})();
