/**
 * @module spine/client-shares
 * How the Spine budget divides between clients. Its own module, importing nothing, so that config
 * validation can check the shares without importing the rate limiter it configures.
 */

/**
 * Each client's share of the Spine budget: its `spineShare`, or an equal part of what the clients
 * with one leave. Throws when the shares add up to more than the whole, or leave nothing for the rest.
 * @example clientShares([{ id: 'a', spineShare: 0.5 }, { id: 'b' }, { id: 'c' }]) // { a: 0.5, b: 0.25, c: 0.25 }
 */
export function clientShares(
  clients: readonly { id: string; spineShare?: number | undefined }[],
): Record<string, number> {
  const given = clients.reduce((sum, c) => sum + (c.spineShare ?? 0), 0);
  const rest = clients.filter((c) => c.spineShare === undefined).length;
  if (given > 1 + 1e-9) throw new Error('spineShare: the shares add up to more than 1');
  if (rest > 0 && given >= 1 - 1e-9)
    throw new Error('spineShare: the shares given leave nothing for the clients without one');
  return Object.fromEntries(clients.map((c) => [c.id, c.spineShare ?? (1 - given) / rest]));
}
