/** Settings shared by the e2e tests' pipeline processes. */
export const PIPELINE_STAGES = ['validate', 'enrich_weather', 'write_hypertable'] as const;

/** Extra environment for the pipeline processes (none: the defaults are what users run). */
export const E2E_STAGE_ENV: Record<string, string> = {};
