/**
 * kafkajs 2.2.4 (its last release) arms its request-queue timer with a negative delay on every
 * connection (tulios/kafkajs#1751, unfixed). Node runs such a timer after 1 ms either way; since
 * Node 24 it also prints a TimeoutNegativeWarning on stderr, in every eaio process that talks to
 * Kafka, which says nothing a user could act on. This drops that warning when kafkajs caused it
 * and lets every other warning through, a negative delay of ours included.
 */
export function dropKafkajsNegativeTimeoutWarning() {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
    if (type === 'TimeoutNegativeWarning' && /[\\/]kafkajs[\\/]/.test(new Error().stack ?? '')) return;
    return emitWarning.call(this, warning, ...rest);
  };
}
