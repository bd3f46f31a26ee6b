import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const INSTALL_DIR = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A model file named by a setting: absolute as given; relative, the current directory first, else
 * the EAIO installation (where the committed models are). Defaults stay relative so the generated
 * settings docs do not carry one machine's checkout path.
 */
export function resolveModelPath(path: string): string {
  if (isAbsolute(path) || existsSync(path)) return resolve(path);
  return resolve(INSTALL_DIR, path);
}
