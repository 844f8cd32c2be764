/* global window, document, location, history, crypto, URLSearchParams */
// The annotator's page: one leased task at a time; answers are sent with an idempotency key so a
// retried submit is not counted twice. Model outputs are untrusted: shown with textContent only.
'use strict';
(function () {
  const g = window.gshf;
  const $ = (id) => document.getElementById(id);
  const state = { project: null, task: null, key: null, busy: false };
  const KEYS = {
    a: 'left',
    1: 'left',
    b: 'right',
    2: 'right',
    t: 'tie',
    3: 'tie',
    x: 'both-bad',
    4: 'both-bad',
    s: 'skip',
    5: 'skip',
  };

  function say(msg) {
    $('status').textContent = msg;
  }

  function show(data) {
    state.task = data.task;
    state.key = data.task ? crypto.randomUUID() : null;
    $('progress').textContent = 'Done: ' + data.progress.done + ' · left for you: ' + data.progress.remaining;
    const none = !data.task;
    $('prompt').textContent = none
      ? 'No task waiting for you in this project. Check back later.'
      : data.task.prompt;
    $('left').textContent = none ? '' : data.task.left;
    $('right').textContent = none ? '' : data.task.right;
    $('rationale').value = '';
    for (const b of document.querySelectorAll('[data-choice]')) b.disabled = none;
    if (!none) say('New task loaded. Press A, B, T, X or S.');
  }

  async function next() {
    if (!state.project) return;
    try {
      show(await g.api('POST', '/api/projects/' + encodeURIComponent(state.project) + '/next'));
    } catch (e) {
      say('Could not load a task: ' + e.message);
    }
  }

  async function submit(choice) {
    if (!state.task || state.busy) return;
    state.busy = true;
    const path =
      '/api/projects/' + encodeURIComponent(state.project) + '/tasks/' + state.task.id + '/annotations';
    const body = { choice, rationale: $('rationale').value, idempotency_key: state.key };
    try {
      try {
        await g.api('POST', path, body);
      } catch (e) {
        if (e.status) throw e;
        await g.api('POST', path, body); // network error: retry once with the same key
      }
      say('Saved: ' + choice + '.');
      await next();
    } catch (e) {
      say('Not saved: ' + e.message);
      if (e.status === 409) await next();
    } finally {
      state.busy = false;
    }
  }

  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (
      ev.target &&
      (ev.target.tagName === 'TEXTAREA' || ev.target.tagName === 'SELECT' || ev.target.tagName === 'INPUT')
    ) {
      if (ev.key === 'Escape') ev.target.blur();
      return;
    }
    const choice = KEYS[ev.key.toLowerCase()];
    if (choice) {
      ev.preventDefault();
      submit(choice);
    }
  });
  for (const b of document.querySelectorAll('[data-choice]'))
    b.addEventListener('click', () => submit(b.dataset.choice));
  $('logout').addEventListener('click', () => g.logout());
  $('project').addEventListener('change', () => {
    state.project = $('project').value;
    history.replaceState(null, '', '?project=' + encodeURIComponent(state.project));
    next();
  });

  (async () => {
    const me = await g.session('annotator');
    if (!me) return;
    $('who').textContent = me.name;
    const { projects } = await g.api('GET', '/api/projects');
    const wanted = new URLSearchParams(location.search).get('project');
    for (const p of projects) $('project').appendChild(g.el('option', p.name, { value: p.name }));
    state.project = projects.some((p) => p.name === wanted)
      ? wanted
      : projects.length
        ? projects[0].name
        : null;
    if (state.project) $('project').value = state.project;
    else say('No projects yet.');
    await next();
  })().catch((e) => say('Error: ' + e.message));
})();
