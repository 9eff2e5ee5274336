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
    item.textContent = [new Date().toISOString(), code, smspCode, httpStatus && `HTTP ${httpStatus}`, messageId && `message ${messageId}`]
      .filter(Boolean)
      .join(' · ');
    report?.append(item);
  });
}

// The IG officer's hand-off to the gateway's audit page (a real portal would pass it for them).
document.getElementById('show-token')?.addEventListener('click', async () => {
  const res = await fetch('/session/token', { credentials: 'same-origin' });
  document.getElementById('session-token').value = res.ok ? await res.text() : `HTTP ${res.status}`;
});
