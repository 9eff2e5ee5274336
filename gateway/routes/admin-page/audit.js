// The audit page's script: receives the IG user's session from the portal that opened it, builds
// the search from the form, calls the auditor-only API, shows the records in UK time, and downloads
// CSV for a Subject Access Request.
//
// The hand-off (docs/audit.md, "Opening the IG audit page from your portal"): this page tells its opener it is ready; the portal
// answers with { type: 'fgm-audit-token', token } posted to this page's origin. Only the window
// that opened the page, at one of the configured client origins, is listened to. The token lives
// in this script's memory only: never in storage, a cookie or the URL, gone when the tab closes.
const form = document.getElementById('search');
const fields = document.getElementById('fields');
const session = document.getElementById('session');
const status = document.getElementById('status');
const table = document.getElementById('results');
const nhsInput = document.getElementById('nhsNumber');
const nhsError = document.getElementById('nhsNumber-error');
const actingAs = document.getElementById('acting-as');
const COLUMNS = [
  ['seq', 'Seq'],
  ['time', 'Time (UK)'],
  ['eventType', 'Event'],
  ['userId', 'User ID'],
  ['roleProfileId', 'Role profile'],
  ['orgCode', 'Organisation'],
  ['nhsNumber', 'NHS number'],
  ['clientMessageId', 'Client message'],
  ['spineMessageId', 'Spine message'],
  ['outcomeCode', 'Outcome'],
  ['answeredBySpine', 'Answered by Spine'],
];
const UK = 'Europe/London';
const origins = (document.querySelector('meta[name="fgm-portal-origins"]')?.content ?? '').split(' ').filter(Boolean);
let token;
// The portal that handed over the session: a CIS2 access token finds its client by it (the page's
// own same-origin calls carry no Origin header).
let portal;

// MSCA-IG-03: before any search, the page names who it acts as — user, role and organisation, as
// the gateway (and, for smartcard users, CIS2) confirmed them — and only then unlocks the form.
window.addEventListener('message', async (event) => {
  if (event.source !== window.opener || !origins.includes(event.origin)) return;
  const { type, token: received } = event.data ?? {};
  if (type !== 'fgm-audit-token' || typeof received !== 'string' || !received) return;
  token = received;
  portal = event.origin;
  try {
    const who = await (await call('/admin/session')).json();
    const role = who.roleProfileId
      ? `role profile ${who.roleProfileId}`
      : `local roles ${who.localRoles.join(', ') || 'none'}`;
    actingAs.textContent = `Acting as ${who.name ?? who.userId} (user ${who.userId}), ${role}, organisation ${who.orgCode}, for ${who.client}${who.confirmedByCis2 ? ' — confirmed by NHS CIS2' : ''}.`;
    actingAs.hidden = false;
  } catch (err) {
    session.dataset.state = 'refused';
    session.textContent = `Your session was refused: ${err.message}`;
    return;
  }
  fields.disabled = false;
  session.dataset.state = 'ready';
  session.textContent = `Signed in through ${event.origin}. Your session is kept in this tab only.`;
});
if (window.opener) for (const origin of origins) window.opener.postMessage({ type: 'fgm-audit-ready' }, origin);

/** 10 digits, written with or without spaces (3-3-4) or dashes; undefined when it is not. */
function nhsNumber(text) {
  const digits = text.replace(/[\s-]/g, '');
  return /^\d{10}$/.test(digits) ? digits : undefined;
}

/** A UK wall-clock time (datetime-local, "2026-03-29T01:30") as an instant in UTC, across GMT and BST. */
function ukToUtc(local) {
  const [date, time] = local.split('T');
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  const offsetAt = (t) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: UK,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
      })
        .formatToParts(t)
        .map((x) => [x.type, x.value]),
    );
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute) - t;
  };
  return new Date(wall - offsetAt(wall - offsetAt(wall))).toISOString();
}

const ukTime = new Intl.DateTimeFormat('en-GB', { timeZone: UK, dateStyle: 'medium', timeStyle: 'medium' });
const ukZone = new Intl.DateTimeFormat('en-GB', { timeZone: UK, timeZoneName: 'short' });
/** A <time> showing UK time (GMT or BST), its UTC value as datetime and tooltip. */
function timeCell(iso) {
  const t = new Date(iso);
  const zone = ukZone.formatToParts(t).find((p) => p.type === 'timeZoneName')?.value ?? '';
  return Object.assign(document.createElement('time'), {
    dateTime: t.toISOString(),
    title: `${t.toISOString()} (UTC)`,
    textContent: `${ukTime.format(t)} ${zone}`,
  });
}

function query(format) {
  const data = new FormData(form);
  const q = new URLSearchParams();
  for (const k of ['userId', 'messageId']) if (String(data.get(k) ?? '').trim()) q.set(k, String(data.get(k)).trim());
  const nhs = String(data.get('nhsNumber') ?? '').trim();
  if (nhs) q.set('nhsNumber', nhsNumber(nhs));
  for (const k of ['from', 'to']) if (data.get(k)) q.set(k, ukToUtc(String(data.get(k))));
  if (format) q.set('format', format);
  return q;
}

/** Shows the NHS number's error beside the field; true when the form can be sent. */
function valid() {
  const text = nhsInput.value.trim();
  const bad = text !== '' && !nhsNumber(text);
  nhsError.hidden = !bad;
  nhsError.textContent = bad ? 'Error: Enter an NHS number of 10 digits, like 999 000 0018' : '';
  nhsInput.closest('.nhsuk-form-group').classList.toggle('nhsuk-form-group--error', bad);
  nhsInput.setAttribute('aria-describedby', bad ? 'nhsNumber-error nhsNumber-hint' : 'nhsNumber-hint');
  if (bad) nhsInput.focus();
  return !bad;
}

async function call(path) {
  if (!token) throw new Error('no session: open this page from your portal');
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}`, 'X-FGM-Portal-Origin': portal } });
  if (!res.ok) throw new Error(`${res.status} ${(await res.json().catch(() => ({}))).code ?? ''}`);
  return res;
}

function show(records) {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const [, label] of COLUMNS)
    head.append(Object.assign(document.createElement('th'), { scope: 'col', textContent: label }));
  const body = table.createTBody();
  for (const r of records) {
    const row = body.insertRow();
    for (const [c] of COLUMNS) {
      const cell = row.insertCell();
      if (c === 'time' && r.time) cell.append(timeCell(r.time));
      // FGMISQR009: the outcome was erased once the child turned 18 (or after the FHIR interface's period).
      else if (c === 'outcomeCode' && r.outcomeCode === null && r.outcomeDigest) cell.textContent = 'erased';
      else cell.textContent = r[c] ?? '';
    }
  }
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!valid()) return;
  try {
    const { records } = await (await call(`/admin/audit?${query()}`)).json();
    show(records);
    status.textContent = `${records.length} records`;
  } catch (err) {
    status.textContent = `Search refused: ${err.message}`;
  }
});

document.getElementById('csv').addEventListener('click', async () => {
  if (!valid()) return;
  try {
    const blob = await (await call(`/admin/audit?${query('csv')}`)).blob();
    const a = Object.assign(document.createElement('a'), {
      href: URL.createObjectURL(blob),
      download: 'fgm-audit.csv',
    });
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
