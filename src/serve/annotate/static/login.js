/* global window, document, location */
'use strict';
document.getElementById('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const status = document.getElementById('status');
  const token = document.getElementById('token').value.trim();
  if (!token) {
    status.textContent = 'Enter your token.';
    return;
  }
  try {
    const me = await window.gshf.api('POST', '/api/login', { token });
    status.textContent = 'Logged in as ' + me.name + '.';
    location.href = me.role === 'admin' ? '/admin' : '/annotate';
  } catch (e) {
    status.textContent = 'Log-in failed: ' + e.message;
  }
});
