/**
 * @module widget/fgm-status.styles
 * The alert, styled on the NHS.UK frontend 10 warning card (`nhsuk-card--warning`): pale yellow
 * panel, yellow border, a yellow heading label over its top edge. It reflows to 320 CSS px (WCAG
 * 1.4.10): the label column shrinks and its words wrap, and a date and its time wrap between them,
 * before anything overflows; only the NHS number (the first dd) stays 3-3-4 on one line. Themable only
 * through the --fgm-* custom properties and ::part(); the element renders nothing and takes no
 * space unless an indicator exists.
 */
import { unsafeCSS } from '@lit/reactive-element';

/**
 * Lit's css tag less the check it makes on interpolated values (about 100 bytes of the budget):
 * these styles interpolate nothing, and the type allows no substitution. Named css so the build's
 * whitespace collapse (vite.config.ts) still finds the template.
 */
const css = (text: TemplateStringsArray) => unsafeCSS(text[0]);

export const styles = css`
  :host {
    display: block;
    margin: 0 0 1rem;
    font-family: var(--fgm-font-family, inherit);
    color: var(--fgm-text-color, #212b32);
  }
  :host(:not([state])) {
    display: none;
  }
  .card {
    margin-top: 0.5rem;
    padding: 0 1rem 1rem;
    background: var(--fgm-background, #fff9c4);
    border: 1px solid var(--fgm-border-color, #ffeb3b);
  }
  .h {
    display: inline-block;
    margin: -0.5rem 0 0.5rem calc(-1rem - 1px);
    padding: 0.5rem 1rem;
    background: var(--fgm-heading-background, #ffeb3b);
    font-size: 1.25rem;
  }
  p {
    margin: 0 0 0.75rem;
  }
  dl {
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 0.25rem 1rem;
    margin: 0;
  }
  .h,
  dt {
    font-weight: 700;
  }
  dd {
    margin: 0;
  }
  dd:first-of-type {
    white-space: nowrap;
  }
  .vh {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
`;
