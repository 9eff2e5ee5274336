/** `import '@fgm-status/element'` registers `<fgm-status>`; these are its types. */
import type { FgmStatus, FgmStatusChangeDetail, FgmStatusErrorDetail } from './element.js';

export * from './element.js';

declare global {
  interface HTMLElementTagNameMap {
    'fgm-status': FgmStatus;
  }
  interface HTMLElementEventMap {
    'fgm-status-change': CustomEvent<FgmStatusChangeDetail>;
    'fgm-status-error': CustomEvent<FgmStatusErrorDetail>;
  }
}
