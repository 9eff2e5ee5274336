/**
 * @module demo/epr/pages
 * The demo EPR's HTML. `hono/html` escapes every interpolated value.
 */
import { html } from 'hono/html';
import { formatNhsNumber } from '../../widget/rules/nhs-number.ts';
import type { DemoUser } from './users.ts';

export interface Patient {
  nhsNumber: string;
  name: string;
  birthDate: string;
}

const MISUSE_WARNING = 'Computer Misuse Act 1990 – Unauthorised access to this system is an offence';

function layout(title: string, gatewayUrl: string, user: DemoUser | undefined, body: unknown) {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title} – Demo EPR</title>
    <link rel="stylesheet" href="/epr.css" />
    <script type="module" src="${gatewayUrl}/widget/fgm-status.js"></script>
    <script type="module" src="/epr.js"></script>
  </head>
  <body>
    <header class="epr-header">
      <span class="epr-brand">Demo EPR</span>
      <span class="epr-note">Demonstration system – fictional patients</span>
      ${
        user
          ? html`<div class="epr-who" data-testid="security-context">
            Signed in as <strong>${user.name}</strong> · ${user.roleName} · ${user.orgName} (${user.orgCode})
            <form method="post" action="/sign-out"><button type="submit">Sign out</button></form>
          </div>`
          : ''
      }
    </header>
    <main>${body}</main>
  </body>
</html>`;
}

/** The sign-in page, with the computer misuse warning shown on start-up (MSCA-IG-03). */
export function signInPage(users: readonly DemoUser[], gatewayUrl: string) {
  return layout(
    'Sign in',
    gatewayUrl,
    undefined,
    html`<p class="epr-misuse" role="note"><strong>${MISUSE_WARNING}</strong></p>
      <h1>Sign in</h1>
      <p>Choose a demo user. Each gets a real signed session token that the gateway verifies.</p>
      <ul class="epr-users">
        ${users.map(
          (u) => html`<li>
            <form method="post" action="/sign-in">
              <input type="hidden" name="user" value="${u.id}" />
              <button type="submit" data-user="${u.id}">${u.name} – ${u.roleName}</button>
            </form>
          </li>`,
        )}
      </ul>`,
  );
}

export function patientListPage(user: DemoUser, patients: readonly Patient[], gatewayUrl: string) {
  return layout(
    'Patients',
    gatewayUrl,
    user,
    html`${
      user.id === 'auditor'
        ? html`<section class="epr-record" aria-labelledby="audit-heading">
            <h2 id="audit-heading">FGM-IS audit trail</h2>
            <p>The gateway's audit search opens in a new tab, signed in with this session: nothing to copy or paste.</p>
            <p><button type="button" id="open-audit" data-gateway="${gatewayUrl}">Open the FGM-IS audit trail</button></p>
          </section>`
        : ''
    }
      <h1>Patients</h1>
      <table class="epr-patients">
        <thead><tr><th scope="col">Name</th><th scope="col">NHS number</th><th scope="col">Born</th></tr></thead>
        <tbody>
          ${patients.map(
            (p) => html`<tr>
              <td><a href="/patients/${p.nhsNumber}">${p.name}</a></td>
              <td class="epr-nowrap">${formatNhsNumber(p.nhsNumber)}</td>
              <td>${p.birthDate}</td>
            </tr>`,
          )}
        </tbody>
      </table>`,
  );
}

/** A patient's record: the banner, the FGM-IS element right under it, and the IT report panel. */
export function patientPage(user: DemoUser, patient: Patient, gatewayUrl: string) {
  return layout(
    patient.name,
    gatewayUrl,
    user,
    html`<p><a href="/">← Patients</a></p>
      <section class="epr-banner" aria-label="Patient banner">
        <h1>${patient.name}</h1>
        <dl>
          <div><dt>NHS number</dt><dd class="epr-nowrap">${formatNhsNumber(patient.nhsNumber)}</dd></div>
          <div><dt>Born</dt><dd>${patient.birthDate}</dd></div>
        </dl>
      </section>
      <fgm-status nhs-number="${patient.nhsNumber}" nhs-number-verified birth-date="${patient.birthDate}" gateway="${gatewayUrl}" heading-level="2"></fgm-status>
      <section class="epr-record">
        <h2>Encounters</h2>
        <p>No encounters in this demonstration record.</p>
      </section>
      <aside class="epr-it-report" aria-labelledby="it-report-heading">
        <h2 id="it-report-heading">IT report</h2>
        <p>Errors the FGM-IS element reports for IT staff (MSCA-FGMRISQR-04). Clinicians never see these in the record.</p>
        <ol id="it-report" data-testid="it-report"></ol>
      </aside>`,
  );
}
