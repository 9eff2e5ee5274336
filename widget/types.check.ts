/**
 * @module widget/types.check
 * Compile-time only (`tsc --noEmit` checks it; nothing runs it): the package's hand-written types
 * (types/element.d.ts, which need no `lit`) say exactly what the element's source does — the same
 * public members and statics with the same types, and the same event details. A member added to
 * one and not the other, or typed differently, fails the type check.
 */
import type { ReactiveElement } from '@lit/reactive-element';
import type {
  FgmStatus as Source,
  FgmStatusChangeDetail as SourceChange,
  FgmStatusErrorDetail as SourceError,
} from './fgm-status.ts';
import type {
  FgmStatus as Published,
  FgmStatusChangeDetail as PublishedChange,
  FgmStatusErrorDetail as PublishedError,
} from './types/element.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllTrue<T> = T[keyof T] extends true ? true : false;
type Members<T, Base> = Exclude<keyof T, keyof Base>;

type SameMembers = AllTrue<{
  [K in Members<Published, HTMLElement>]: K extends keyof Source ? Same<Published[K], Source[K]> : false;
}>;
type NoneMissing = Same<Members<Source, ReactiveElement>, Exclude<Members<Published, HTMLElement>, 'updateComplete'>>;
type Statics = Members<typeof Published, typeof HTMLElement>;
type SameStatics = AllTrue<{
  [K in Statics]: K extends keyof typeof Source ? Same<(typeof Published)[K], (typeof Source)[K]> : false;
}>;
type NoStaticMissing = Same<Members<typeof Source, typeof ReactiveElement>, Statics>;

export const checks: [
  SameMembers,
  NoneMissing,
  SameStatics,
  NoStaticMissing,
  Same<SourceChange, PublishedChange>,
  Same<SourceError, PublishedError>,
] = [true, true, true, true, true, true];
