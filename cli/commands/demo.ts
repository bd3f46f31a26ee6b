import type { Command } from '../command.js';
import { servicesCommand } from './services.js';

const usage = `Usage: eaio demo

Brings the local stack up and prints its status. Later stages extend this to replay the
committed BDG2 sample through every stage and serve the API.`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the main job on the local stack (services up, sample through every stage)',
  usage,
  async run() {
    const up = await servicesCommand.run(['up']);
    if (up !== 0) return up;
    return servicesCommand.run(['status']);
  },
};
