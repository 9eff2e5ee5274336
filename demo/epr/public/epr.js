// Demo EPR page script: hands the signed-in session's token to <fgm-status> and lists the
// element's error events in the IT report panel. Plain JS because it is the page, not the product.
const element = document.querySelector('fgm-status');
if (element) {
  element.tokenProvider = async () => {
    const res = await fetch('/session/token', { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`session token: HTTP ${res.status}`);
    return res.text();
  };
  const report = document.getElementById('it-report');
  document.addEventListener('fgm-status-error', (event) => {
    const { code, smspCode, messageId, httpStatus } = event.detail;
    const item = document.createElement('li');
    item.textContent = [
      new Date().toISOString(),
      code,
      smspCode,
      httpStatus && `HTTP ${httpStatus}`,
      messageId && `message ${messageId}`,
    ]
      .filter(Boolean)
      .join(' · ');
    report?.append(item);
  });
}

// The IG officer's hand-off to the gateway's audit page, as a portal would do it: open the page,
// wait for it to say it is ready, then post the session token to the gateway's origin only (the
// page accepts it only from its opener at a configured origin, and keeps it in memory).
document.getElementById('open-audit')?.addEventListener('click', (event) => {
  const gateway = new URL(event.currentTarget.dataset.gateway);
  const audit = window.open(new URL('/admin/audit.html', gateway), 'fgm-audit');
  const onMessage = async (message) => {
    if (message.source !== audit || message.origin !== gateway.origin || message.data?.type !== 'fgm-audit-ready')
      return;
    window.removeEventListener('message', onMessage);
    const res = await fetch('/session/token', { credentials: 'same-origin' });
    if (res.ok) audit.postMessage({ type: 'fgm-audit-token', token: await res.text() }, gateway.origin);
  };
  window.addEventListener('message', onMessage);
});
