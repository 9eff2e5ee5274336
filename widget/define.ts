/**
 * @module widget/define
 * Registers `<fgm-status>` (once: a second copy of the module on the page is harmless) and
 * re-exports the class and event types. This is the bundle's entry point.
 */
import { FgmStatus } from './fgm-status.ts';

if (!customElements.get('fgm-status')) customElements.define('fgm-status', FgmStatus);

export { FgmStatus };
export type { FgmStatusChangeDetail, FgmStatusErrorDetail } from './fgm-status.ts';
