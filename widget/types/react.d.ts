/**
 * `import '@fgm-status/element/react'` registers `<fgm-status>` (the same module as the package's
 * main entry) and types it in React 19 JSX. React 19 sets a defined custom element's properties
 * (`tokenProvider`, `token`) and listens to `on<event-name>` props; attributes are written as in
 * HTML (`nhs-number`, `birth-date`, `heading-level`).
 */
import type { DetailedHTMLProps, HTMLAttributes } from 'react';
import type { FgmStatus, FgmStatusChangeDetail, FgmStatusErrorDetail } from './index.js';

export * from './index.js';

/** The props of `<fgm-status>` in JSX. */
export interface FgmStatusProps extends DetailedHTMLProps<HTMLAttributes<FgmStatus>, FgmStatus> {
  'nhs-number'?: string;
  'birth-date'?: string;
  'nhs-number-verified'?: boolean;
  'allow-unverified'?: boolean;
  gateway?: string;
  urid?: string;
  'heading-level'?: number | string;
  token?: string;
  tokenProvider?: () => Promise<string>;
  'onfgm-status-change'?: (event: CustomEvent<FgmStatusChangeDetail>) => void;
  'onfgm-status-error'?: (event: CustomEvent<FgmStatusErrorDetail>) => void;
}

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'fgm-status': FgmStatusProps;
    }
  }
}
