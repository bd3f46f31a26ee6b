export const passthroughTopics = { input: 'bench.in.v1', output: 'bench.out.v1' } as const;
