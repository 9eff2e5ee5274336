/**
 * @module widget/fgm-status.styles
 * The alert, styled on the NHS.UK warning callout: yellow panel, strong top border, real heading.
 * Themable only through the --fgm-* custom properties and ::part(); the element renders nothing
 * and takes no space unless an indicator exists.
 */
import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    margin: 0 0 1rem;
    font-family: var(--fgm-font-family, inherit);
    color: var(--fgm-text-color, #212b32);
  }
  :host(:not([state='indicator'])) {
    display: none;
  }
  .callout {
    background: var(--fgm-background, #fff9c4);
    border: 1px solid var(--fgm-border-color, #ffeb3b);
    border-top-width: 8px;
    padding: 0 1rem 1rem;
  }
  .heading {
    display: inline-block;
    margin: -8px 0 0.75rem -1rem;
    padding: 0.5rem 1rem;
    background: var(--fgm-heading-background, #ffeb3b);
    font-size: 1.25rem;
  }
  p {
    margin: 0 0 0.75rem;
  }
  dl {
    display: grid;
    grid-template-columns: max-content 1fr;
    gap: 0.25rem 1rem;
    margin: 0;
  }
  .heading,
  dt {
    font-weight: 700;
  }
  dd {
    margin: 0;
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
