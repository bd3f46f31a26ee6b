/**
 * Topic and group naming. Logical names are versioned (`readings.raw.v1`); the configurable prefix
 * (`eaio`) lets several pipelines — or test runs — share one broker without colliding.
 */
export interface TopicNaming {
  readonly prefix: string;
}

export function physicalTopic(naming: TopicNaming, logical: string): string {
  return naming.prefix ? `${naming.prefix}.${logical}` : logical;
}

/** One dead-letter topic per stage. */
export function deadLetterTopic(naming: TopicNaming, stage: string): string {
  return physicalTopic(naming, `dlq.${stage}.v1`);
}

/** One consumer group per stage: processes of the same stage share its partitions. */
export function consumerGroup(naming: TopicNaming, stage: string): string {
  return physicalTopic(naming, `stage.${stage}`);
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}
