/* global window, document, setInterval */
// The admin's page: projects, queue, throughput, per-annotator counts and agreement, plot, export.
'use strict';
(function () {
  const g = window.gshf;
  const $ = (id) => document.getElementById(id);
  const fmt = (x, d) =>
    x === null || x === undefined ? '—' : typeof x === 'number' && d !== undefined ? x.toFixed(d) : String(x);
  let project = null;

  function table(id, header, rows) {
    const t = $(id);
    const caption = t.querySelector('caption');
    t.replaceChildren(caption);
    const thead = g.el('thead');
    const tr = g.el('tr');
    for (const h of header) tr.appendChild(g.el('th', h, { scope: 'col' }));
    thead.appendChild(tr);
    const tbody = g.el('tbody');
    for (const r of rows) {
      const row = g.el('tr');
      r.forEach((c, i) => row.appendChild(g.el(i === 0 ? 'th' : 'td', c, i === 0 ? { scope: 'row' } : {})));
      tbody.appendChild(row);
    }
    t.append(thead, tbody);
  }

  async function refresh() {
    if (!project) return;
    const base = '/api/projects/' + encodeURIComponent(project);
    const s = await g.api('GET', base + '/stats');
    const q = s.queue;
    table(
      'queue',
      [
        'tasks',
        'gold',
        'complete',
        'pending',
        'leased now',
        'annotations',
        'labels last min',
        'labels last hour',
      ],
      [
        [
          q.tasks,
          q.gold,
          q.complete,
          q.pending,
          q.leased,
          q.annotations,
          s.throughput.last_minute,
          s.throughput.last_hour,
        ],
      ],
    );
    table(
      'annotators',
      ['annotator', 'labels', 'skips', 'gold answered', 'gold accuracy', 'agreement with others'],
      s.annotators.map((a) => [
        a.name,
        a.annotations,
        a.skips,
        a.gold_answered,
        fmt(a.gold_accuracy, 3),
        fmt(a.agreement_with_others, 3),
      ]),
    );
    table(
      'agreement',
      ['statistic', 'value', 'over'],
      [
        ['pairwise agreement', fmt(s.agreement.pairwise, 3), s.agreement.pairs + ' pairs'],
        ['Fleiss κ (k = ' + s.k + ')', fmt(s.agreement.fleiss_kappa, 3), s.agreement.fleiss_items + ' tasks'],
        ...s.agreement.cohen.map((c) => [
          'Cohen κ ' + c.a + ' / ' + c.b,
          fmt(c.kappa, 3),
          c.items + ' tasks',
        ]),
      ],
    );
    $('plot').src = base + '/plot.svg?t=' + Date.now();
    $('export').href = base + '/export.jsonl';
  }

  async function loadProjects(select) {
    const { projects } = await g.api('GET', '/api/projects');
    $('project').replaceChildren(
      ...projects.map((p) => g.el('option', p.name + ' (k=' + p.k + ')', { value: p.name })),
    );
    project = select || (projects.length ? projects[0].name : null);
    if (project) $('project').value = project;
    else $('status').textContent = 'No projects yet: create one below, or push tasks from the loop.';
    await refresh();
  }

  $('project').addEventListener('change', () => {
    project = $('project').value;
    refresh().catch((e) => ($('status').textContent = e.message));
  });
  $('logout').addEventListener('click', () => g.logout());
  $('new-project').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const p = await g.api('POST', '/api/projects', {
        name: $('np-name').value.trim(),
        k: Number($('np-k').value),
      });
      $('status').textContent = 'Created project ' + p.name + '.';
      await loadProjects(p.name);
    } catch (e) {
      $('status').textContent = 'Not created: ' + e.message;
    }
  });
  $('new-annotator').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const a = await g.api('POST', '/api/annotators', { name: $('na-name').value.trim() });
      $('na-token').textContent = 'Token for ' + a.name + ' (shown once): ' + a.token;
    } catch (e) {
      $('na-token').textContent = 'Not created: ' + e.message;
    }
  });

  (async () => {
    const me = await g.session('admin');
    if (!me) return;
    await loadProjects(null);
    setInterval(() => refresh().catch(() => undefined), 10000);
  })().catch((e) => ($('status').textContent = 'Error: ' + e.message));
})();
