/**
 * A pure function with a bounded memory of its answers: for hot paths that see the same few keys
 * over and over (the hours of a batch, the time zones of a metadata file). Cleared whole when full
 * rather than evicting one by one: callers walk through time, so old keys are not asked for again.
 */
export function remember<K, V>(compute: (key: K) => V, limit = 4_096): (key: K) => V {
  const answers = new Map<K, V>();
  return (key) => {
    const known = answers.get(key);
    // One lookup on the hot path; `has` only to tell a remembered undefined from a new key.
    if (known !== undefined || answers.has(key)) return known as V;
    const value = compute(key);
    if (answers.size >= limit) answers.clear();
    answers.set(key, value);
    return value;
  };
}
