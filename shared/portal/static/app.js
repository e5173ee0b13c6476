// The job management page. Plain JavaScript, no build step, no third-party code.
//
// Rules kept throughout:
// - the API key lives in sessionStorage and travels only in the x-ms-quantum-api-key header, never in a URL;
// - the page tells an anonymous visitor nothing about the deployment: the workspace path is learned after
//   sign-in, from the service's WorkspaceNotFound answer to a keyed request (its ServedWorkspace detail);
// - server data reaches the page through textContent and attributes, never as markup (the page's CSP
//   enforces Trusted Types, so an innerHTML assignment would throw);
// - the URL hash holds what is shown (#/jobs?filters, #/jobs/<id>?filters), so links, reloads and the
//   back button work;
// - while a view is open it refreshes itself: one list request per poll, every 2 s while a shown job is
//   Waiting or Executing, every 5 s otherwise, and none while the tab is hidden.
'use strict';

(() => {
  performance.mark('script-start');
  const KEY_STORE = 'quantum-portal.api-key';
  const KEY_HEADER = 'x-ms-quantum-api-key';
  const PAGE_SIZE = 50;
  const ACTIVE_POLL_MS = 2000;
  const IDLE_POLL_MS = 5000;
  const MAX_BARS = 64;
  const MAX_INPUT_CHARS = 200000;
  const STATUSES = ['Waiting', 'Executing', 'Succeeded', 'Failed', 'Cancelled'];
  const ACTIVE = new Set(['Waiting', 'Executing']);
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const DASH = '\u2014';

  const $ = (id) => document.getElementById(id);
  const apiRoot = window.location.pathname.replace(/portal\/[^/]*$/, '');
  // A workspace no service serves: the answer names the one this service does.
  const PROBE = 'subscriptions/-/resourceGroups/-/providers/Microsoft.Quantum/workspaces/-/providerStatus';
  let workspacePath = null; // learned on the first request after sign-in; forgotten at sign-out

  // ---------------------------------------------------------------- small DOM helpers

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
    }
    for (const child of children) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function setText(node, text) {
    const value = String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function message(node, text, kind) {
    node.textContent = text || '';
    node.classList.toggle('error', kind !== 'info');
    node.classList.toggle('info', kind === 'info');
    show(node, Boolean(text));
  }

  // Local time as YYYY-MM-DD HH:MM:SS, by hand: an Intl.DateTimeFormat costs ~40 ms to create in a new page.
  const two = (n) => String(n).padStart(2, '0');
  const clock = (d) => `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const localTime = (d) => `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${clock(d)}`;

  function timeNode(iso) {
    const node = el('time');
    if (!iso) {
      node.textContent = DASH;
      return node;
    }
    const moment = new Date(iso);
    node.dateTime = iso;
    node.title = iso;
    node.textContent = Number.isNaN(moment.getTime()) ? iso : localTime(moment);
    return node;
  }

  function statusBadge(status) {
    const known = STATUSES.includes(status) ? status.toLowerCase() : 'unknown';
    return el('span', { class: `status status-${known}` }, status || 'Unknown');
  }

  function setStatusBadge(node, status) {
    const known = STATUSES.includes(status) ? status.toLowerCase() : 'unknown';
    const className = `status status-${known}`;
    if (node.className !== className) node.className = className;
    setText(node, status || 'Unknown');
  }

  function formatCost(cost) {
    if (!cost || typeof cost.estimatedTotal !== 'number') return DASH;
    return `${cost.estimatedTotal.toFixed(2)} ${cost.currencyCode || ''}`.trim();
  }

  function plain(value) {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  function fillPairs(list, pairs) {
    const nodes = [];
    for (const [term, value] of pairs) {
      nodes.push(el('dt', null, term));
      nodes.push(el('dd', null, value instanceof Node ? value : String(value)));
    }
    list.replaceChildren(...nodes);
  }

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, code, text, details) {
      super(text);
      this.status = status;
      this.code = code;
      this.details = details || [];
    }
  }

  const apiKey = () => window.sessionStorage.getItem(KEY_STORE);

  async function send(url, method, key, signal) {
    try {
      return await fetch(url, {
        method,
        signal,
        headers: { [KEY_HEADER]: key },
        cache: 'no-store',
        credentials: 'omit',
        redirect: 'error',
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError(0, 'Unreachable', 'The service cannot be reached. Is the host running?');
    }
  }

  async function servedWorkspace(key, signal) {
    const response = await send(apiRoot + PROBE, 'GET', key, signal);
    if (response.status !== 404) throw await failure(response, key);
    const error = await failure(response, key);
    const served = error.details.find((detail) => detail.code === 'ServedWorkspace');
    if (!served || typeof served.target !== 'string') throw error;
    return served.target;
  }

  async function request(path, options) {
    const { method = 'GET', signal } = options || {};
    const key = apiKey();
    if (!key) throw new ApiError(401, 'SignedOut', 'You are signed out.');
    if (workspacePath === null) {
      workspacePath = await servedWorkspace(key, signal);
      setText($('workspace-name'), `Workspace ${workspacePath.split('/').pop() || ''}`);
    }
    const response = await send(`${apiRoot}${workspacePath}/${path}`, method, key, signal);
    if (response.ok) return response;
    throw await failure(response, key);
  }

  // The error a failed answer carries; a 401 for the key in use signs out.
  async function failure(response, key) {
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null; // not JSON: the status line says enough
    }
    const error = body && body.error ? body.error : {};
    const refused = new ApiError(
      response.status,
      error.code || String(response.status),
      error.message || `${response.status} ${response.statusText}`.trim(),
      Array.isArray(error.details) ? error.details : [],
    );
    if (response.status === 401 && apiKey() === key) {
      signOut('The service did not accept this API key (401 Unauthorized). Check the key and sign in again.');
    }
    return refused;
  }

  const getJson = async (path, options) => (await request(path, options)).json();
  const ignorable = (error) => error.name === 'AbortError' || error.status === 401;

  // ---------------------------------------------------------------- views, polling, routing

  let generation = 0; // bumped whenever the view changes: late answers for an old view are dropped
  let controller = new AbortController();
  let timer = 0;
  let deferred = null; // a poll that came due while the tab was hidden
  let shownKey = null;
  let listMarked = false;

  function stopWork() {
    generation += 1;
    controller.abort();
    controller = new AbortController();
    window.clearTimeout(timer);
    deferred = null;
  }

  function schedule(poll, delay) {
    const due = generation;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      if (due !== generation) return;
      if (document.hidden) {
        deferred = poll;
        return;
      }
      poll();
    }, delay);
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && deferred) {
      const poll = deferred;
      deferred = null;
      poll();
    }
  });

  function setView(name, key, title) {
    show($('signin-view'), name === 'signin');
    show($('list-view'), name === 'list');
    show($('job-view'), name === 'job');
    show($('sign-out'), name !== 'signin');
    document.title = title ? `${title} \u2013 Quantum jobs` : 'Quantum jobs';
    const changed = shownKey !== null && shownKey !== key;
    shownKey = key;
    return changed;
  }

  function parseHash() {
    const raw = window.location.hash.startsWith('#/') ? window.location.hash.slice(1) : '/jobs';
    const mark = raw.indexOf('?');
    const path = mark < 0 ? raw : raw.slice(0, mark);
    const params = new URLSearchParams(mark < 0 ? '' : raw.slice(mark + 1));
    const match = /^\/jobs\/([^/]+)$/.exec(path);
    if (match) {
      let id = match[1];
      try {
        id = decodeURIComponent(id);
      } catch (_) {
        // keep it as written
      }
      return { view: 'job', id, params };
    }
    return { view: 'list', params };
  }

  function route() {
    stopWork();
    if (!apiKey()) {
      showSignIn();
      return;
    }
    const where = parseHash();
    if (where.view === 'job') showJob(where.id, readFilters(where.params));
    else showList(readFilters(where.params));
  }

  // ---------------------------------------------------------------- signing in and out

  function showSignIn(text, kind) {
    setView('signin', 'signin', 'Sign in');
    message($('signin-message'), text, kind);
    $('api-key').focus();
  }

  function clearData() {
    $('jobs-body').replaceChildren();
    for (const id of ['job-details', 'job-params', 'job-history', 'job-output', 'job-error-fields',
      'job-error-details']) $(id).replaceChildren();
    $('job-input').textContent = '';
    providers = null;
    providersLoading = null;
  }

  function signOut(text, kind) {
    window.sessionStorage.removeItem(KEY_STORE);
    workspacePath = null;
    setText($('workspace-name'), '');
    stopWork();
    clearData();
    showSignIn(text, kind);
  }

  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) {
      message($('signin-message'), 'Type the API key first.');
      $('api-key').focus();
      return;
    }
    window.sessionStorage.setItem(KEY_STORE, key);
    $('api-key').value = '';
    message($('signin-message'), '');
    shownKey = 'signin';
    route();
  });

  $('sign-out').addEventListener('click', () => signOut('You are signed out.', 'info'));

  // ---------------------------------------------------------------- the job list

  let filters = null;
  let nextSkip = null;
  let providers = null;
  let emulated = new Set();
  let providersLoading = null;

  function readFilters(params) {
    const skip = Number.parseInt(params.get('skip') || '0', 10);
    const after = params.get('after') || '';
    return {
      status: (params.get('status') || '').split(',').filter((s) => STATUSES.includes(s)),
      provider: params.get('provider') || '',
      target: params.get('target') || '',
      name: params.get('name') || '',
      after: /^\d{4}-\d{2}-\d{2}$/.test(after) ? after : '',
      skip: Number.isFinite(skip) && skip > 0 ? skip : 0,
    };
  }

  function filterParams(f) {
    const params = new URLSearchParams();
    if (f.status.length) params.set('status', f.status.join(','));
    if (f.provider) params.set('provider', f.provider);
    if (f.target) params.set('target', f.target);
    if (f.name) params.set('name', f.name);
    if (f.after) params.set('after', f.after);
    if (f.skip) params.set('skip', String(f.skip));
    return params.toString();
  }

  const listHash = (f) => (filterParams(f) ? `#/jobs?${filterParams(f)}` : '#/jobs');
  const jobHash = (id, f) => `#/jobs/${encodeURIComponent(id)}${filterParams(f) ? `?${filterParams(f)}` : ''}`;
  const quote = (text) => `'${String(text).replace(/'/g, "''")}'`;

  // The SDK's filter grammar, e.g. startswith(Name, 'x') and (ProviderId eq 'ionq')
  // and (State eq 'Succeeded' or State eq 'Failed') and CreationTime ge 2024-01-01
  function odataFilter(f) {
    const parts = [];
    if (f.name) parts.push(`startswith(Name, ${quote(f.name)})`);
    if (f.provider) parts.push(`(ProviderId eq ${quote(f.provider)})`);
    if (f.target) parts.push(`(Target eq ${quote(f.target)})`);
    if (f.status.length) parts.push(`(${f.status.map((s) => `State eq ${quote(s)}`).join(' or ')})`);
    if (f.after) parts.push(`CreationTime ge ${f.after}`);
    return parts.join(' and ');
  }

  function showList(f) {
    if (setView('list', 'list', 'Jobs')) $('list-title').focus();
    filters = f;
    syncFilterForm(f);
    loadProviders();
    loadList();
  }

  async function loadList() {
    const due = generation;
    const f = filters;
    const query = new URLSearchParams();
    const filter = odataFilter(f);
    if (filter) query.set('filter', filter);
    query.set('orderby', 'CreationTime desc');
    query.set('skip', String(f.skip));
    query.set('top', String(PAGE_SIZE));
    let page;
    try {
      page = await getJson(`jobs?${query}`, { signal: controller.signal });
    } catch (error) {
      if (due !== generation || ignorable(error)) return;
      message($('list-error'), `The job list could not be loaded: ${error.message}`);
      schedule(loadList, IDLE_POLL_MS);
      return;
    }
    if (due !== generation) return;
    const jobs = Array.isArray(page.value) ? page.value : [];
    message($('list-error'), '');
    renderRows(jobs, f);
    renderPager(jobs, f, page.nextLink);
    if (!listMarked) {
      listMarked = true;
      performance.mark('list-rendered');
    }
    const busy = jobs.some((job) => ACTIVE.has(job.status));
    setText($('list-status'), `Updated ${clock(new Date())}`);
    schedule(loadList, busy ? ACTIVE_POLL_MS : IDLE_POLL_MS);
  }

  function createRow() {
    const link = el('a', { class: 'mono' });
    const row = el('tr', null,
      el('td', { class: 'id' }, link), el('td', { class: 'name' }), el('td'), el('td'),
      el('td', null, statusBadge('')), el('td', null, timeNode('')), el('td', { class: 'num' }));
    return row;
  }

  function updateRow(row, job, f) {
    const cells = row.cells;
    const link = cells[0].firstChild;
    const href = jobHash(job.id, f);
    if (link.getAttribute('href') !== href) link.setAttribute('href', href);
    setText(link, job.id);
    setText(cells[1], job.name || '');
    if (cells[1].title !== (job.name || '')) cells[1].title = job.name || ''; // the whole name, when cut short
    setText(cells[2], job.providerId || '');
    setText(cells[3], job.target || '');
    setStatusBadge(cells[4].firstChild, job.status);
    if (cells[5].firstChild.dateTime !== (job.creationTime || '')) cells[5].replaceChildren(timeNode(job.creationTime));
    setText(cells[6], formatCost(job.costEstimate));
    row.dataset.status = job.status || '';
  }

  function renderRows(jobs, f) {
    const body = $('jobs-body');
    const existing = new Map();
    for (const row of Array.from(body.rows)) existing.set(row.dataset.id, row);
    jobs.forEach((job, index) => {
      let row = existing.get(job.id);
      existing.delete(job.id);
      if (!row) {
        row = createRow();
        row.dataset.id = job.id;
      }
      updateRow(row, job, f);
      // Move a row only when it is out of place, so a focused link keeps its focus.
      if (body.rows[index] !== row) body.insertBefore(row, body.rows[index] || null);
    });
    for (const row of existing.values()) row.remove();
    show($('list-empty'), jobs.length === 0);
    setText($('list-empty'), f.skip > 0 ? 'No more jobs on this page.' : 'No jobs match these filters.');
  }

  function renderPager(jobs, f, nextLink) {
    nextSkip = null;
    if (nextLink) {
      const skip = Number.parseInt(new URL(nextLink, window.location.href).searchParams.get('skip') || '', 10);
      nextSkip = Number.isFinite(skip) ? skip : f.skip + PAGE_SIZE;
    }
    $('prev-page').disabled = f.skip === 0;
    $('next-page').disabled = nextSkip === null;
    setText($('page-info'), jobs.length ? `Jobs ${f.skip + 1}\u2013${f.skip + jobs.length}` : '');
  }

  $('jobs-body').addEventListener('click', (event) => {
    if (event.target.closest('a') || window.getSelection().toString()) return;
    const row = event.target.closest('tr');
    const link = row && row.querySelector('a');
    if (link) window.location.hash = link.getAttribute('href');
  });

  $('prev-page').addEventListener('click', () => {
    window.location.hash = listHash({ ...filters, skip: Math.max(0, filters.skip - PAGE_SIZE) });
  });

  $('next-page').addEventListener('click', () => {
    if (nextSkip !== null) window.location.hash = listHash({ ...filters, skip: nextSkip });
  });

  // ---------------------------------------------------------------- filters

  function formFilters() {
    return {
      status: STATUSES.filter((s) => $(`f-status-${s}`).checked),
      provider: $('f-provider').value,
      target: $('f-target').value,
      name: $('f-name').value.trim(),
      after: $('f-after').value,
      skip: 0,
    };
  }

  function applyFilters() {
    const hash = listHash(formFilters());
    // Filters replace the entry rather than stacking one per keystroke; paging and opening a job push one.
    window.history.replaceState(null, '', hash);
    route();
  }

  function syncFilterForm(f) {
    for (const s of STATUSES) $(`f-status-${s}`).checked = f.status.includes(s);
    if ($('f-name').value.trim() !== f.name) $('f-name').value = f.name;
    $('f-after').value = f.after;
    fillOptions(f);
  }

  function fillOptions(f) {
    const known = providers || [];
    const providerIds = known.map((p) => p.id);
    if (f.provider && !providerIds.includes(f.provider)) providerIds.push(f.provider);
    const targetIds = known.filter((p) => !f.provider || p.id === f.provider).flatMap((p) => p.targets);
    if (f.target && !targetIds.includes(f.target)) targetIds.push(f.target);
    replaceOptions($('f-provider'), 'All providers', providerIds, f.provider);
    replaceOptions($('f-target'), 'All targets', targetIds, f.target, (id) =>
      emulated.has(id) ? `${id} (local emulation)` : id,
    );
  }

  function replaceOptions(select, allLabel, values, selected, label = (v) => v) {
    const wanted = ['', ...values];
    const current = Array.from(select.options).map((o) => o.value);
    if (wanted.join('\n') !== current.join('\n')) {
      select.replaceChildren(...wanted.map((v) => el('option', { value: v }, v ? label(v) : allLabel)));
    }
    select.value = selected;
  }

  function loadProviders() {
    if (providers || providersLoading) return;
    providersLoading = getJson('providerStatus')
      .then((data) => {
        providers = (data.value || []).map((p) => ({ id: p.id, targets: (p.targets || []).map((t) => t.id) }));
        // Targets the service runs as local emulations of a QPU say so in their metadata.
        emulated = new Set(
          (data.value || []).flatMap((p) => (p.targets || []).filter((t) => (t.metadata || {}).emulation).map((t) => t.id)),
        );
        if (filters) fillOptions(filters);
      })
      .catch(() => {
        providers = null; // the filters still work on what the hash says; try again next time
      })
      .finally(() => {
        providersLoading = null;
      });
  }

  let typing = 0;
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    applyFilters();
  });
  $('filters').addEventListener('change', (event) => {
    if (event.target.id === 'f-provider') $('f-target').value = '';
    if (event.target.id !== 'f-name') applyFilters();
  });
  $('f-name').addEventListener('input', () => {
    window.clearTimeout(typing);
    typing = window.setTimeout(applyFilters, 300);
  });
  $('clear-filters').addEventListener('click', () => {
    window.history.replaceState(null, '', '#/jobs');
    route();
  });

  // ---------------------------------------------------------------- one job

  let current = null; // { id, job, inputLoaded, outputLoaded }

  function showJob(id, f) {
    const changed = setView('job', `job:${id}`, `Job ${id}`);
    if (!current || current.id !== id) {
      current = { id, job: null, inputLoaded: false, outputLoaded: false };
      for (const node of ['job-details', 'job-params', 'job-history', 'job-error-fields', 'job-error-details']) {
        $(node).replaceChildren();
      }
      $('job-output').replaceChildren(el('p', { class: 'muted' }, 'Loading\u2026'));
      $('job-input').textContent = '';
      setText($('input-meta'), '');
      setText($('job-title'), 'Job');
      setText($('job-id'), id);
      $('job-status').hidden = true;
      show($('job-error'), false);
      show($('cancel-job'), false);
    }
    message($('job-message'), '');
    $('back-link').setAttribute('href', listHash(f));
    if (changed) $('job-title').focus();
    loadJob();
  }

  const jobPath = (id) => `jobs/${encodeURIComponent(id)}`;

  async function loadJob() {
    const due = generation;
    const { signal } = controller;
    const { id } = current;
    let job;
    let history;
    try {
      [job, history] = await Promise.all([
        getJson(jobPath(id), { signal }),
        getJson(`${jobPath(id)}/history`, { signal }),
      ]);
    } catch (error) {
      if (due !== generation || ignorable(error)) return;
      if (error.status === 404) {
        message($('job-message'), `There is no job ${id} in this workspace.`);
        $('job-output').replaceChildren();
        return;
      }
      message($('job-message'), `The job could not be loaded: ${error.message}`);
      schedule(loadJob, IDLE_POLL_MS);
      return;
    }
    if (due !== generation) return;
    current.job = job;
    renderJob(job);
    renderHistory(Array.isArray(history.value) ? history.value : []);
    if (!current.inputLoaded) loadInput(due, signal);
    if (job.status === 'Succeeded') {
      if (!current.outputLoaded) loadOutput(due, signal);
    } else {
      renderNoOutput(job.status);
    }
    if (ACTIVE.has(job.status)) schedule(loadJob, ACTIVE_POLL_MS);
  }

  function renderJob(job) {
    document.title = `${job.name || job.id} \u2013 Quantum jobs`;
    setText($('job-title'), job.name || '(no name)');
    setText($('job-id'), `Job ${job.id}`);
    $('job-status').hidden = false;
    setStatusBadge($('job-status'), job.status);
    show($('cancel-job'), ACTIVE.has(job.status));
    const cost = formatCost(job.costEstimate);
    fillPairs($('job-details'), [
      ['Provider', job.providerId || DASH],
      ['Target', job.target || DASH],
      ['Status', statusBadge(job.status)],
      ['Priority', job.priority || DASH],
      ['Tags', (job.tags || []).length ? job.tags.join(', ') : DASH],
      ['Input format', job.inputDataFormat || DASH],
      ['Output format', job.outputDataFormat || DASH],
      ['Submitted', timeNode(job.creationTime)],
      ['Began', timeNode(job.beginExecutionTime)],
      ['Ended', timeNode(job.endExecutionTime)],
      ...(job.cancellationTime ? [['Cancelled', timeNode(job.cancellationTime)]] : []),
      ['Cost estimate', cost],
      ...Object.entries(job.usage || {}).map(([k, v]) => [`Usage: ${k}`, plain(v)]),
    ]);
    const params = Object.entries(job.inputParams || {});
    fillPairs($('job-params'), params.length ? params.map(([k, v]) => [k, plain(v)]) : [['(none)', DASH]]);
    renderError(job.errorData);
  }

  function renderError(error) {
    show($('job-error'), Boolean(error));
    if (!error) return;
    fillPairs($('job-error-fields'), [
      ['Code', error.code || DASH],
      ['Message', error.message || DASH],
      ...(error.target ? [['Target', error.target]] : []),
    ]);
    const details = Array.isArray(error.details) ? error.details : [];
    const list = details.length
      ? [el('h3', null, 'Details'), el('ul', { class: 'details' }, ...details.map(detailItem))]
      : [];
    $('job-error-details').replaceChildren(...list);
  }

  function detailItem(detail) {
    const item = el('li');
    if (detail.code) item.append(el('code', null, detail.code), ' ');
    item.append(detail.message || '');
    if (detail.target) item.append(' ', el('span', { class: 'muted' }, `(${detail.target})`));
    const nested = Array.isArray(detail.details) ? detail.details : [];
    if (nested.length) item.append(el('ul', null, ...nested.map(detailItem)));
    return item;
  }

  function renderHistory(entries) {
    const items = entries.map((entry) => el('li', { class: `step step-${String(entry.status).toLowerCase()}` },
      el('div', { class: 'step-head' }, statusBadge(entry.status), timeNode(entry.time)),
      el('p', { class: 'cause' }, entry.cause || '')));
    const list = $('job-history');
    if (list.childElementCount !== items.length || list.textContent !== items.map((i) => i.textContent).join('')) {
      list.replaceChildren(...items);
    }
  }

  function renderNoOutput(status) {
    const text = ACTIVE.has(status)
      ? `No output yet: the job is ${status}. This page refreshes while it runs.`
      : `This job has no output: it is ${status}.`;
    const output = $('job-output');
    if (output.textContent !== text) output.replaceChildren(el('p', { class: 'muted' }, text));
  }

  async function loadInput(due, signal) {
    current.inputLoaded = true;
    try {
      const response = await request(`${jobPath(current.id)}/input`, { signal });
      const type = response.headers.get('content-type') || '';
      const format = response.headers.get('x-ms-data-format') || current.job.inputDataFormat || '';
      const bytes = await response.arrayBuffer();
      if (due !== generation) return;
      const size = `${bytes.byteLength.toLocaleString()} bytes`;
      if (type.startsWith('application/octet-stream')) {
        setText($('input-meta'), `${format}, ${size}: a binary program, not shown.`);
        return;
      }
      let text = new TextDecoder().decode(bytes);
      if (type.startsWith('application/json')) {
        try {
          text = JSON.stringify(JSON.parse(text), null, 2);
        } catch (_) {
          // shown as it came
        }
      }
      const cut = text.length > MAX_INPUT_CHARS;
      setText($('input-meta'), `${format}, ${size}${cut ? ` (the first ${MAX_INPUT_CHARS.toLocaleString()} characters)` : ''}`);
      $('job-input').textContent = cut ? text.slice(0, MAX_INPUT_CHARS) : text;
    } catch (error) {
      if (due !== generation || ignorable(error)) return;
      current.inputLoaded = false;
      setText($('input-meta'), `The input could not be loaded: ${error.message}`);
    }
  }

  async function loadOutput(due, signal) {
    current.outputLoaded = true;
    try {
      const response = await request(`${jobPath(current.id)}/output`, { signal });
      const format = response.headers.get('x-ms-data-format') || current.job.outputDataFormat || '';
      const text = await response.text();
      if (due !== generation) return;
      let data = null;
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
      renderOutput(format, data === null ? null : histogramOf(format, data), data === null ? text : data);
    } catch (error) {
      if (due !== generation || ignorable(error)) return;
      current.outputLoaded = false;
      $('job-output').replaceChildren(el('p', { class: 'message error' }, `The output could not be loaded: ${error.message}`));
    }
  }

  // ---------------------------------------------------------------- output as a histogram

  // ionq.quantum-results.v1: {"histogram": {"<int>": probability}}; bitstrings with qubit 0 rightmost,
  // as wide as the largest index needs (at least 1 bit).
  function ionqHistogram(histogram) {
    const entries = Object.entries(histogram).filter(([, v]) => typeof v === 'number');
    if (entries.every(([k]) => /^\d+$/.test(k))) {
      const indexes = entries.map(([k, v]) => [BigInt(k), v]);
      const largest = indexes.reduce((m, [k]) => (k > m ? k : m), BigInt(0));
      const width = Math.max(1, largest.toString(2).length);
      return { kind: 'probability', bars: indexes.map(([k, v]) => ({ label: k.toString(2).padStart(width, '0'), value: v })) };
    }
    return { kind: 'probability', bars: entries.map(([k, v]) => ({ label: k, value: v })) };
  }

  // honeywell.quantum-results.v1: {"c": ["00", "11", ...], ...}: one string per shot and register;
  // several registers are joined per shot with a space.
  function honeywellHistogram(data) {
    const registers = Object.values(data).filter(Array.isArray);
    if (!registers.length) return null;
    const shots = Math.min(...registers.map((r) => r.length));
    const counts = new Map();
    for (let shot = 0; shot < shots; shot += 1) {
      const key = registers.map((r) => String(r[shot])).join(' ');
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    return { kind: 'count', bars: Array.from(counts, ([label, value]) => ({ label, value })) };
  }

  // microsoft.quantum-results.v2: Results[0].Histogram[] of {Display, Count}.
  function microsoftHistogram(data) {
    const result = Array.isArray(data.Results) ? data.Results[0] : null;
    if (!result || !Array.isArray(result.Histogram)) return null;
    return {
      kind: 'count',
      bars: result.Histogram.map((e) => ({ label: String(e.Display ?? JSON.stringify(e.Outcome)), value: Number(e.Count) || 0 })),
    };
  }

  function histogramOf(format, data) {
    if (!data || typeof data !== 'object') return null;
    if (format === 'ionq.quantum-results.v1' || (data.histogram && typeof data.histogram === 'object')) {
      return data.histogram && typeof data.histogram === 'object' ? ionqHistogram(data.histogram) : null;
    }
    if (format === 'microsoft.quantum-results.v2' || Array.isArray(data.Results)) return microsoftHistogram(data);
    if (format === 'honeywell.quantum-results.v1') return honeywellHistogram(data);
    return null;
  }

  function renderOutput(format, histogram, raw) {
    const nodes = [];
    if (histogram && histogram.bars.length) {
      const total = histogram.bars.reduce((sum, b) => sum + b.value, 0);
      let bars = histogram.bars;
      if (bars.length > MAX_BARS) {
        bars = [...bars].sort((a, b) => b.value - a.value).slice(0, MAX_BARS);
        nodes.push(el('p', { class: 'muted' }, `The ${MAX_BARS} most frequent of ${histogram.bars.length} outcomes.`));
      }
      bars = [...bars].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
      const describe = (bar) => (histogram.kind === 'probability'
        ? `${(bar.value * 100).toFixed(1)}%`
        : `${bar.value.toLocaleString()} (${total ? ((bar.value / total) * 100).toFixed(1) : '0.0'}%)`);
      const summary = histogram.kind === 'probability'
        ? `Probabilities of ${histogram.bars.length} outcome(s)`
        : `Counts of ${histogram.bars.length} outcome(s) over ${total.toLocaleString()} shot(s)`;
      nodes.push(el('p', { class: 'muted' }, `${summary} \u00b7 ${format}`));
      nodes.push(chart(bars, describe, summary));
      nodes.push(el('details', { class: 'raw' }, el('summary', null, 'Outcomes as a table'),
        el('table', { class: 'outcomes' },
          el('thead', null, el('tr', null, el('th', { scope: 'col' }, 'Outcome'), el('th', { scope: 'col', class: 'num' },
            histogram.kind === 'probability' ? 'Probability' : 'Count'))),
          el('tbody', null, ...bars.map((bar) => el('tr', null, el('td', { class: 'mono' }, bar.label),
            el('td', { class: 'num' }, describe(bar))))))));
    } else {
      nodes.push(el('p', { class: 'muted' }, `No chart for ${format || 'this format'}; the raw output follows.`));
    }
    const text = typeof raw === 'string' ? raw : JSON.stringify(raw, null, 2);
    nodes.push(el('details', { class: 'raw', open: histogram ? null : '' }, el('summary', null, 'Raw output'),
      el('pre', { class: 'code' }, text.length > MAX_INPUT_CHARS ? text.slice(0, MAX_INPUT_CHARS) : text)));
    $('job-output').replaceChildren(...nodes);
  }

  function chart(bars, describe, summary) {
    const rowHeight = 28;
    const barHeight = 20;
    const longest = bars.reduce((m, b) => Math.max(m, b.label.length), 1);
    const labelWidth = Math.min(300, 20 + longest * 8.5);
    const barArea = 500;
    const valueWidth = 130;
    const width = Math.round(labelWidth + barArea + valueWidth);
    const height = bars.length * rowHeight + 8;
    const largest = bars.reduce((m, b) => Math.max(m, b.value), 0) || 1;
    const titleId = `chart-title-${Math.random().toString(36).slice(2)}`;
    const root = svg('svg', {
      class: 'histogram', role: 'img', 'aria-labelledby': titleId, viewBox: `0 0 ${width} ${height}`,
      width, height,
    });
    root.append(svg('title', { id: titleId }, summary));
    root.append(svg('line', { class: 'axis', x1: labelWidth, x2: labelWidth, y1: 0, y2: height }));
    bars.forEach((bar, index) => {
      const y = 4 + index * rowHeight;
      const length = Math.max(2, (bar.value / largest) * barArea);
      const middle = y + barHeight / 2;
      const group = svg('g', { class: 'bar-row' });
      group.append(svg('text', { class: 'bar-label', x: labelWidth - 10, y: middle, 'text-anchor': 'end', 'dominant-baseline': 'central' }, bar.label));
      const rect = svg('rect', { class: 'bar', x: labelWidth, y, width: length.toFixed(1), height: barHeight, rx: 2 });
      rect.append(svg('title', null, `${bar.label}: ${describe(bar)}`));
      group.append(rect);
      group.append(svg('text', { class: 'bar-value', x: labelWidth + length + 8, y: middle, 'dominant-baseline': 'central' }, describe(bar)));
      root.append(group);
    });
    return el('div', { class: 'chart' }, root);
  }

  // ---------------------------------------------------------------- cancelling

  $('cancel-job').addEventListener('click', async () => {
    const button = $('cancel-job');
    const due = generation;
    button.disabled = true;
    message($('job-message'), '');
    try {
      await request(`${jobPath(current.id)}:cancel`, { method: 'POST' });
      if (due === generation) message($('job-message'), 'The job was cancelled.', 'info');
    } catch (error) {
      if (due !== generation || ignorable(error)) return;
      message($('job-message'), `The service refused to cancel this job: ${error.message}`);
    } finally {
      button.disabled = false;
    }
    if (due === generation) {
      window.clearTimeout(timer);
      loadJob();
    }
  });

  // ---------------------------------------------------------------- start

  window.addEventListener('hashchange', route);
  route();
  performance.mark('script-done');
})();
