import type { EnvSection } from '../config/load.js';
import { jobsSection } from '../jobs/settings.js';
import { stageSettingsSections } from '../stages/registry.js';

/** Every settings section after the core one: each stage's, in pipeline order, then the jobs'. */
export const extraSettingsSections = (): EnvSection[] => [...stageSettingsSections(), jobsSection];
