// The page the CSP test loads in an iframe under `default-src 'self'`: it records violations and
// mounts the element for a patient with an indicator.
import '../../widget/define.ts';

const w = window as unknown as { violations: string[]; outcome?: string };
w.violations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  w.violations.push(`${e.violatedDirective} ${e.blockedURI}`),
);
const el = document.createElement('fgm-status');
el.token = 'clinician';
el.setAttribute('birth-date', '2014-03-02');
el.setAttribute('nhs-number', '9990000018');
el.setAttribute('nhs-number-verified', '');
el.addEventListener('fgm-status-change', (e) => (w.outcome = e.detail.status));
document.body.append(el);
