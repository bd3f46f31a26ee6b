import { TOPICS } from '../../domain/topics.js';
import { defineStage } from '../descriptor.js';
import { scoreAnomalyCodes } from './codes.js';
import { scoreAnomalySettings, toScoreAnomalyConfig } from './config.js';

export const scoreAnomalyStage = defineStage({
  name: 'score_anomaly',
  summary:
    "scores each reading against its meter's own past with an ONNX model (anomaly_score, is_anomaly, expected value); flagged readings also go to anomalies.v1",
  settings: { schema: scoreAnomalySettings, toConfig: toScoreAnomalyConfig },
  inputs: () => [TOPICS.readingsEnriched],
  outputs: () => ({ main: TOPICS.readingsScored, anomalies: TOPICS.anomalies }),
  codes: scoreAnomalyCodes,
  async create({ config, clients, env, naming, offsetsGroup }) {
    const { createScoreAnomalyStage } = await import('./stage.js');
    const { writerToWaitFor } = await import('./writer-lag.js');
    const writer = writerToWaitFor(naming, offsetsGroup, env);
    return createScoreAnomalyStage({
      config,
      clients,
      partitionCount: env.EAIO_TOPIC_PARTITIONS,
      ...(writer ? { writer } : {}),
    });
  },
});
