/* global window, document, setInterval, URLSearchParams */
// The admin's page: projects, queue, throughput, per-annotator counts and agreement (with
// small-sample caveats), plot, export, the task/annotation explorer, uploads, guidelines, tokens.
'use strict';
(function () {
  const g = window.gshf;
  const $ = (id) => document.getElementById(id);
  const fmt = (x, d) =>
    x === null || x === undefined ? '—' : typeof x === 'number' && d !== undefined ? x.toFixed(d) : String(x);
  let project = null;
  let projects = [];
  let offset = 0;
  const PAGE = 25;

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
      r.forEach((c, i) => {
        const cell = g.el(
          i === 0 ? 'th' : 'td',
          c instanceof window.Node ? null : c,
          i === 0 ? { scope: 'row' } : {},
        );
        if (c instanceof window.Node) cell.appendChild(c);
        row.appendChild(cell);
      });
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
        [
          'Fleiss κ (k = ' + s.k + ')',
          fmt(s.agreement.fleiss_kappa, 3) +
            (s.agreement.small_sample.fleiss && s.agreement.fleiss_items ? ' ⚠' : ''),
          s.agreement.fleiss_items + ' tasks',
        ],
        ...s.agreement.cohen.map((c) => [
          'Cohen κ ' + c.a + ' / ' + c.b,
          fmt(c.kappa, 3) + (c.small_sample ? ' ⚠' : ''),
          c.items + ' tasks',
        ]),
      ],
    );
    $('caveats').replaceChildren(...s.agreement.caveats.map((c) => g.el('li', '⚠ ' + c)));
    $('plot').src = base + '/plot.svg?t=' + Date.now();
    exportLink();
    const p = projects.find((x) => x.name === project);
    if (p && document.activeElement !== $('g-text')) $('g-text').value = p.guidelines || '';
    await Promise.all([explore(), tokens()]);
  }

  function exportLink() {
    if (!project) return;
    const q = new URLSearchParams({ kind: $('export-kind').value });
    if ($('export-all').checked) q.set('all', '1');
    $('export').href = '/api/projects/' + encodeURIComponent(project) + '/export.jsonl?' + q;
  }

  function describe(a) {
    if (a.ranking) return a.annotator + ': ' + a.ranking.map((i) => '#' + i).join(' > ');
    if (a.ratings)
      return (
        a.annotator +
        ': ' +
        Object.entries(a.ratings)
          .map(([k, v]) => k + ' ' + v)
          .join(', ')
      );
    return a.annotator + ': ' + a.verdict + (a.rationale ? ' (' + a.rationale + ')' : '');
  }

  async function explore() {
    const q = new URLSearchParams({
      status: $('f-status').value,
      gold: $('f-gold').value,
      agreement: $('f-agreement').value,
      kind: $('f-kind').value,
      offset: String(offset),
      limit: String(PAGE),
    });
    if ($('f-annotator').value) q.set('annotator', $('f-annotator').value);
    const r = await g.api('GET', '/api/projects/' + encodeURIComponent(project) + '/explore?' + q);
    const to = Math.min(r.total, offset + r.tasks.length);
    $('explore-count').textContent = r.total
      ? 'Tasks ' + (offset + 1) + '–' + to + ' of ' + r.total
      : 'No task matches.';
    $('f-prev').disabled = offset === 0;
    $('f-next').disabled = to >= r.total;
    table(
      'explore',
      ['id', 'kind', 'status', 'answers', 'agreement', 'prompt', 'annotations'],
      r.tasks.map((t) => {
        const list = g.el('ul');
        for (const a of t.annotations) list.appendChild(g.el('li', describe(a)));
        return [t.id, t.kind, t.status, t.answers + ' / ' + t.k, t.agreement, t.prompt.slice(0, 160), list];
      }),
    );
    for (const td of document.querySelectorAll('#explore td:nth-child(6)')) td.classList.add('prompt');
  }

  async function tokens() {
    const { annotators } = await g.api('GET', '/api/annotators');
    const pick = $('f-annotator');
    const keep = pick.value;
    pick.replaceChildren(
      g.el('option', 'anyone', { value: '' }),
      ...annotators.map((a) => g.el('option', a.name, { value: a.name })),
    );
    pick.value = keep;
    table(
      'tokens',
      ['annotator', 'state', 'expires', 'actions'],
      annotators.map((a) => {
        const actions = g.el('span');
        for (const [label, path] of [
          ['Revoke', '/revoke'],
          ['Rotate', '/token'],
        ]) {
          const b = g.el('button', label, { type: 'button' });
          b.addEventListener('click', () => tokenAction(a.name, label, path));
          actions.appendChild(b);
        }
        return [a.name, a.state, a.expires_at ? new Date(a.expires_at).toISOString() : 'never', actions];
      }),
    );
  }

  async function tokenAction(name, label, path) {
    try {
      const r = await g.api('POST', '/api/annotators/' + encodeURIComponent(name) + path);
      $('na-token').textContent =
        label === 'Rotate'
          ? 'New token for ' + name + ' (shown once): ' + r.token
          : name + ': token revoked.';
      await tokens();
    } catch (e) {
      $('na-token').textContent = label + ' failed: ' + e.message;
    }
  }

  async function loadProjects(select) {
    projects = (await g.api('GET', '/api/projects')).projects;
    $('project').replaceChildren(
      ...projects.map((p) => g.el('option', p.name + ' (k=' + p.k + ')', { value: p.name })),
    );
    project = select || (projects.length ? projects[0].name : null);
    if (project) $('project').value = project;
    else $('status').textContent = 'No projects yet: create one below, or push tasks from the loop.';
    await refresh();
  }

  $('explore-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    offset = 0;
    explore().catch((e) => ($('status').textContent = e.message));
  });
  for (const [id, step] of [
    ['f-prev', -PAGE],
    ['f-next', PAGE],
  ])
    $(id).addEventListener('click', () => {
      offset = Math.max(0, offset + step);
      explore().catch((e) => ($('status').textContent = e.message));
    });
  $('export-kind').addEventListener('change', exportLink);
  $('export-all').addEventListener('change', exportLink);
  $('guidelines-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await g.api('PATCH', '/api/projects/' + encodeURIComponent(project), { guidelines: $('g-text').value });
      $('status').textContent = 'Guidelines saved.';
      await loadProjects(project);
    } catch (e) {
      $('status').textContent = 'Not saved: ' + e.message;
    }
  });
  $('upload').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = $('up-file').files[0];
    if (!file || !project) return;
    const format = (/\.(jsonl|csv|parquet)$/i.exec(file.name) || [])[1];
    if (!format) return ($('up-result').textContent = 'Name the file .jsonl, .csv or .parquet.');
    try {
      const path = '/api/projects/' + encodeURIComponent(project) + '/upload?format=' + format.toLowerCase();
      const r = await g.upload(path, file);
      $('up-result').textContent =
        r.records + ' records: ' + r.inserted + ' new, ' + r.existing + ' already there.';
      await refresh();
    } catch (e) {
      $('up-result').textContent = 'Not uploaded: ' + e.message;
    }
  });
  $('project').addEventListener('change', () => {
    project = $('project').value;
    offset = 0;
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
