/* global window, document, location, fetch */
// Shared by the pages: JSON calls with the session's CSRF token. Never builds HTML from data:
// everything user- or model-provided is set with textContent.
'use strict';
window.gshf = {
  csrf: null,
  async api(method, path, body) {
    const headers = {};
    const init = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return this.send(path, init);
  },
  /** POSTs a file's bytes (uploads). */
  async upload(path, file) {
    return this.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: await file.arrayBuffer(),
    });
  },
  async send(path, init) {
    if (this.csrf) init.headers['x-csrf-token'] = this.csrf;
    init.credentials = 'same-origin';
    const res = await fetch(path, init);
    const type = res.headers.get('content-type') || '';
    const data = type.includes('application/json') ? await res.json() : await res.text();
    if (!res.ok) {
      const err = new Error((data && data.message) || 'HTTP ' + res.status);
      err.status = res.status;
      throw err;
    }
    return data;
  },
  async session(role) {
    try {
      const me = await this.api('GET', '/api/me');
      this.csrf = me.csrf;
      if (role && me.role !== role) {
        location.href = me.role === 'admin' ? '/admin' : '/annotate';
        return null;
      }
      return me;
    } catch (e) {
      if (e.status === 401) location.href = '/login';
      throw e;
    }
  },
  el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  },
  async logout() {
    try {
      await this.api('POST', '/api/logout');
    } finally {
      location.href = '/login';
    }
  },
};
