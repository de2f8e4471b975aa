// Figures from rounds of a measurement: the first round warms up and is discarded.

/** The median of every round but the first. */
export function medianOfLater(rounds) {
  const later = rounds.slice(1).sort((a, b) => a - b);
  const mid = later.length >> 1;
  return later.length % 2 === 1 ? later[mid] : (later[mid - 1] + later[mid]) / 2;
}
