// Full-jitter exponential backoff: the wait before reconnect attempt `attempt` (0 for the
// first after a loss) is uniform in [min, min(max, min * 2^(attempt+1))]. The lower
// bound keeps a client from hammering a server that refuses at once; the jitter spreads
// a thousand clients that lost the same server over the whole window instead of
// sending them back together.
export function reconnectDelay(attempt, min, max, random = Math.random) {
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt + 1, 30));
  return min + random() * Math.max(0, ceiling - min);
}
