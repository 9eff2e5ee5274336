// The audit page's script: builds the search from the form, calls the auditor-only API with the
// IG user's session token, shows the records, and downloads CSV for a Subject Access Request.
const form = document.getElementById('search');
const status = document.getElementById('status');
const table = document.getElementById('results');
const COLUMNS = ['seq', 'time', 'eventType', 'userId', 'roleProfileId', 'orgCode', 'nhsNumber', 'clientMessageId', 'spineMessageId', 'outcomeCode', 'answeredBySpine'];

function query(format) {
  const data = new FormData(form);
  const q = new URLSearchParams();
  for (const k of ['userId', 'messageId', 'nhsNumber']) if (data.get(k)) q.set(k, String(data.get(k)).trim());
  for (const k of ['from', 'to']) if (data.get(k)) q.set(k, `${data.get(k)}:00Z`);
  if (format) q.set('format', format);
  return q;
}

async function call(path) {
  const token = String(new FormData(form).get('token') ?? '').trim();
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${res.status} ${(await res.json().catch(() => ({}))).code ?? ''}`);
  return res;
}

function show(records) {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const c of COLUMNS) head.append(Object.assign(document.createElement('th'), { scope: 'col', textContent: c }));
  const body = table.createTBody();
  for (const r of records) {
    const row = body.insertRow();
    for (const c of COLUMNS) row.insertCell().textContent = r[c] ?? '';
  }
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const { records } = await (await call(`/admin/audit?${query()}`)).json();
    show(records);
    status.textContent = `${records.length} records`;
  } catch (err) {
    status.textContent = `Search refused: ${err.message}`;
  }
});

document.getElementById('csv').addEventListener('click', async () => {
  try {
    const blob = await (await call(`/admin/audit?${query('csv')}`)).blob();
    const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: 'fgm-audit.csv' });
    a.click();
    URL.revokeObjectURL(a.href);
  } catch (err) {
    status.textContent = `Export refused: ${err.message}`;
  }
});

document.getElementById('verify').addEventListener('click', async () => {
  try {
    status.textContent = (await (await call('/admin/audit/verify')).json()).summary;
  } catch (err) {
    status.textContent = `Verify refused: ${err.message}`;
  }
});
