/**
 * @module audit/group-commit
 * What either store does when a group commit fails (SMSP-AUDIT-004/005). A batch is one
 * transaction, so one record the database refuses (a constraint, a value too big) would fail
 * every other clinician's record with it: their requests would then fail closed although their
 * records could be written. When the error is the record's own, the batch's records are retried
 * one at a time, in order, so only the record that cannot be written fails. When the store itself
 * is failing (unreachable, locked, out of space), retrying would only multiply the waiting, so the
 * whole batch fails at once.
 */

/** Each record's outcome, in the batch's order: undefined once committed, else why it was not. */
export interface GroupOutcome {
  failures: (Error | undefined)[];
  /** Set when the store itself failed (not one record): the stores report it as their health. */
  storeError?: Error;
}

/**
 * Commits `items` in one transaction through `commit`; if that fails with an error
 * `recordsOwn` says one record caused, commits them one by one instead.
 * @example const { failures } = await commitGroup(events, (batch) => appendChained(pool, key, batch), isRecordError);
 */
export async function commitGroup<T>(
  items: readonly T[],
  commit: (batch: readonly T[]) => void | Promise<void>,
  recordsOwn: (e: Error) => boolean,
): Promise<GroupOutcome> {
  try {
    await commit(items);
    return { failures: items.map(() => undefined) };
  } catch (e) {
    const error = e as Error;
    if (items.length === 1 || !recordsOwn(error))
      return { failures: items.map(() => error), ...(recordsOwn(error) ? {} : { storeError: error }) };
  }
  const failures: (Error | undefined)[] = [];
  for (const item of items) {
    try {
      await commit([item]);
      failures.push(undefined);
    } catch (e) {
      const error = e as Error;
      if (recordsOwn(error)) {
        failures.push(error);
        continue;
      }
      // The store failed part-way: this record and the rest fail with it, untried.
      while (failures.length < items.length) failures.push(error);
      return { failures, storeError: error };
    }
  }
  return { failures };
}
