/**
 * @module server/teardown
 * One list of what a running service must close, registered as each part opens and closed last
 * first, so shutdown, a start that fails half way and the tests share one teardown sequence
 * instead of each writing its own.
 */

export interface Teardown {
  /** Registers `close` to run at teardown, after every part registered later has closed. */
  add(name: string, close: () => unknown): void;
  /**
   * Closes every part, last registered first, each once; a part that fails to close does not stop
   * the others, and the first failure, prefixed with the part's name, is thrown once all have run.
   * Later calls return the same promise.
   */
  close(): Promise<void>;
}

/**
 * @example const teardown = createTeardown();
 * const server = await listen(); teardown.add('listener', () => server.close());
 * process.once('SIGTERM', () => void teardown.close());
 */
export function createTeardown(): Teardown {
  const parts: { name: string; close: () => unknown }[] = [];
  let closing: Promise<void> | undefined;
  return {
    add(name, close) {
      if (closing) throw new Error(`teardown: ${name} opened after teardown began`);
      parts.push({ name, close });
    },
    close() {
      closing ??= (async () => {
        let failure: Error | undefined;
        for (const { name, close } of parts.reverse()) {
          try {
            await close();
          } catch (e) {
            failure ??= new Error(`${name}: ${(e as Error).message}`, { cause: e });
          }
        }
        if (failure) throw failure;
      })();
      return closing;
    },
  };
}

/**
 * Runs `start`, whose steps register what they open on `teardown`; if a step throws, what the
 * earlier steps opened is closed (last first) and the step's own error is thrown.
 */
export async function startOrClose<T>(teardown: Teardown, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    // The start's error says what went wrong; a part that also fails to close must not hide it.
    await teardown.close().catch(() => {});
    throw e;
  }
}
