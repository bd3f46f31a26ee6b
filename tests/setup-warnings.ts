// Test processes talk to Kafka through kafkajs too: drop its known negative-timer warning there as
// the eaio processes do (bin/kafkajs-timer-warning.mjs), so the suite's output shows real warnings.
import { dropKafkajsNegativeTimeoutWarning } from '../bin/kafkajs-timer-warning.mjs';

dropKafkajsNegativeTimeoutWarning();
