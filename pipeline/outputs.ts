/** A stage's declared outputs by name: the main one and its side outputs (stage.ts). */
import { FatalError } from './errors.js';
import { MAIN_OUTPUT, type OutputRecord, type OutputSpec, type Stage } from './stage.js';

export type OutputsByName = ReadonlyMap<string, OutputSpec<unknown>>;

const snakeCase = /^[a-z][a-z0-9_]*$/;

/** Every declared output of a stage by name; throws on a duplicate or malformed name. */
export function outputsByName(stage: Pick<Stage<unknown, unknown>, 'name' | 'output' | 'sideOutputs'>): OutputsByName {
  const outputs = new Map<string, OutputSpec<unknown>>();
  const declared = [...(stage.output ? [{ ...stage.output, name: stage.output.name ?? MAIN_OUTPUT }] : [])];
  for (const side of stage.sideOutputs ?? []) declared.push(side);
  for (const spec of declared) {
    const name = spec.name as string;
    if (!snakeCase.test(name)) throw new Error(`stage ${stage.name}: output name "${name}" is not snake_case`);
    if (outputs.has(name)) throw new Error(`stage ${stage.name} declares the output "${name}" twice`);
    outputs.set(name, spec);
  }
  return outputs;
}

/** The name a record addresses: its own, or the main output's. */
export const outputNameOf = (stage: Pick<Stage<unknown, unknown>, 'output'>, record: OutputRecord<unknown>): string =>
  record.output ?? stage.output?.name ?? MAIN_OUTPUT;

/** The spec a record goes to; a record addressed to an undeclared output is the stage's bug. */
export function outputFor(
  stage: Pick<Stage<unknown, unknown>, 'name' | 'output'>,
  outputs: OutputsByName,
  record: OutputRecord<unknown>,
): OutputSpec<unknown> {
  const name = outputNameOf(stage, record);
  const spec = outputs.get(name);
  if (!spec)
    throw new FatalError(
      `stage ${stage.name} emitted to the output "${name}", which it does not declare (declared: ${[...outputs.keys()].join(', ') || 'none'})`,
      'contract_violation',
    );
  return spec;
}

/** Logical topics of every declared output. */
export const outputTopics = (stage: Pick<Stage<unknown, unknown>, 'name' | 'output' | 'sideOutputs'>): string[] => [
  ...new Set([...outputsByName(stage).values()].map((s) => s.topic)),
];
