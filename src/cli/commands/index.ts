// Engine commands. Each file in this folder exports a function building its CommandSpec(s) from the
// handler registry; list them here.
import type { HandlerRegistry } from '../../handler.js';
import type { CommandSpec } from '../command.js';
import { checkoutCommand } from './checkout.js';
import { gcCommand } from './gc.js';
import { doctorCommand } from './doctor.js';
import { reproCommand } from './repro.js';
import { statusCommand } from './status.js';
import { dagCommand } from './dag.js';
import { expCommands } from './exp.js';
import { metricsCommands } from './metrics.js';
import { plotsCommands } from './plots.js';
import { remoteCommands } from './remote.js';
import { syncCommands } from './sync.js';

export function engineCommands(registry: HandlerRegistry): CommandSpec[] {
  void registry;
  return [reproCommand(registry), statusCommand(registry), checkoutCommand(), gcCommand(), doctorCommand(), dagCommand(registry), ...expCommands(registry), ...metricsCommands(registry), ...plotsCommands(registry), ...remoteCommands(), ...syncCommands()];
}
